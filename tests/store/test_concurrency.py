"""Parallel writers: version-aware updates never lose one another, conditional creates never
duplicate, and migrations apply once when several openers race (both backends)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

from tests.conftest import drop_pg_schema, fresh_pg_url
from yteso.fhir.errors import Conflict, PreconditionFailed
from yteso.store import SearchParam, SearchQuery, open_store
from yteso.store.sql_files import load_migrations

MIGRATIONS = [m.version for m in load_migrations("yteso.store.sqlite")]

THREADS = 6
ROUNDS = 12


def run_threads(count: int, target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            target(n)
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]


def test_if_match_updates_never_lose_one(store_url: str) -> None:
    store = open_store(store_url)
    with store.session() as session:
        session.update({"resourceType": "Basic", "id": "counter", "code": {"text": "0"}})
    successes: list[int] = []

    def increment(_: int) -> None:
        for _round in range(ROUNDS):
            current = store.read("Basic", "counter")
            body = current.resource()
            body["code"]["text"] = str(int(body["code"]["text"]) + 1)
            try:
                with store.session() as session:
                    successes.append(session.update(body, if_match=current.version).stored.version)
            except PreconditionFailed:
                continue

    try:
        run_threads(THREADS, increment)
        final = store.read("Basic", "counter")
    finally:
        store.close()
    assert successes, "no update succeeded"
    assert final.version == len(successes) + 1
    assert sorted(successes) == list(range(2, final.version + 1))
    assert final.resource()["code"]["text"] == str(len(successes))


@pytest.mark.parametrize("resource_type", ["Basic", "Patient"])
def test_parallel_conditional_creates_make_one(store_url: str, resource_type: str) -> None:
    store = open_store(store_url)
    criteria = SearchQuery(params=(SearchParam("_lastUpdated", ("ge2000",)),))
    start = threading.Barrier(THREADS)
    created: list[bool] = []

    def create(n: int) -> None:
        resource = {"resourceType": resource_type, "id": "ignored"}
        if resource_type == "Basic":
            resource["code"] = {"text": str(n)}
        start.wait()
        with store.session() as session:
            created.append(session.create(resource, if_none_exist=criteria).created)

    try:
        run_threads(THREADS, create)
        counts = store.counts()
    finally:
        store.close()
    assert counts == {resource_type: 1}
    assert sorted(created) == [False] * (THREADS - 1) + [True]


def test_racing_openers_migrate_once(store_url: str) -> None:
    start = threading.Barrier(4)
    stores = []

    def open_one(_: int) -> None:
        start.wait()
        stores.append(open_store(store_url))

    run_threads(4, open_one)
    try:
        with stores[0].backend.reading() as db:
            versions = db.rows("SELECT version FROM schema_version ORDER BY version")
        assert [int(v) for (v,) in versions] == MIGRATIONS
    finally:
        for store in stores:
            store.close()


# Each process retries version-aware increments and prints the versions it wrote.
INCREMENTER = """
import sys
from yteso.fhir.errors import Conflict, PreconditionFailed
from yteso.store import open_store

store = open_store(sys.argv[1])
for _ in range(int(sys.argv[2])):
    current = store.read("Basic", "counter")
    body = current.resource()
    body["code"]["text"] = str(int(body["code"]["text"]) + 1)
    try:
        with store.session() as session:
            print(session.update(body, if_match=current.version).stored.version, flush=True)
    except PreconditionFailed:
        pass
store.close()
"""


def test_processes_racing_if_match_updates(store_url: str) -> None:
    store = open_store(store_url)
    with store.session() as session:
        session.update({"resourceType": "Basic", "id": "counter", "code": {"text": "0"}})
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", INCREMENTER, store_url, "25"], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    written: list[int] = []
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        written.extend(int(line) for line in output.split())
    final = store.read("Basic", "counter")
    store.close()
    assert sorted(written) == list(range(2, final.version + 1))
    assert final.resource()["code"]["text"] == str(len(written))


def test_crossing_sessions_end_in_a_conflict_not_a_crash(store_url: str) -> None:
    if store_url.startswith("sqlite"):
        pytest.skip("SQLite sessions serialise on BEGIN IMMEDIATE: they cannot cross")
    store = open_store(store_url)
    store.bulk_write([{"resourceType": "Patient", "id": i} for i in ("a", "b")])
    middle = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def cross(n: int) -> None:
        first, second = ("a", "b") if n == 0 else ("b", "a")
        try:
            with store.session() as session:
                session.update({"resourceType": "Patient", "id": first})
                middle.wait()
                session.update({"resourceType": "Patient", "id": second})
            outcomes.append("committed")
        except Conflict:
            outcomes.append("conflict")

    try:
        run_threads(2, cross)
    finally:
        store.close()
    assert sorted(outcomes) == ["committed", "conflict"]


def test_write_locks_are_per_schema(pg_base_url: str) -> None:
    """Advisory locks are database-wide: two stores in different schemas of one database lock
    the same resource key without waiting on (or deadlocking with) each other."""
    (first_url, first_schema), (second_url, second_schema) = (
        fresh_pg_url(pg_base_url),
        fresh_pg_url(pg_base_url),
    )
    first, second = open_store(first_url), open_store(second_url)
    try:
        with first.session() as holding:
            holding.update({"resourceType": "Patient", "id": "same"})  # holds Patient/same
            done = threading.Event()

            def write_elsewhere(_: int) -> None:
                with second.session() as other:
                    other.update({"resourceType": "Patient", "id": "same"})
                done.set()

            writer = threading.Thread(target=write_elsewhere, args=(0,))
            writer.start()
            # Keyed by name only, the other schema's write would wait for this transaction.
            assert done.wait(timeout=20), "a store in another schema waited on this one's lock"
            writer.join()
        assert second.read("Patient", "same").version == 1
    finally:
        first.close()
        second.close()
        drop_pg_schema(pg_base_url, first_schema)
        drop_pg_schema(pg_base_url, second_schema)
