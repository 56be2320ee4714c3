"""How deferred indexes are built (``deferred_indexes.rebuild_deferred_indexes``): PostgreSQL
builds on several connections at once, each index in its own transaction with the removal of
its record; builders racing each other build every index once; a build that dies midway leaves
the records of the indexes it had not committed, and the next open builds exactly those; the
build's connection settings do not outlive it. Both backends."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest

from tests.store.deferred_support import deferred, definitions, open_store_after_the_dead_session
from yteso.store import SearchParam, SearchQuery, SqlStore, load_paths, open_store
from yteso.store import deferred_indexes as builds
from yteso.store.deferred_indexes import defer_bulk_indexes, rebuild_deferred_indexes
from yteso.store.sql_backend import Backend, Executor


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def load_patients(store: SqlStore, path: Path, count: int) -> None:
    rows = (
        {"resourceType": "Patient", "id": f"p{i}", "name": [{"family": f"Trần {i}x"}]}
        for i in range(count)
    )
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    assert load_paths(store, [path], defer_indexes=False).loaded == count


def family_ids(store: SqlStore, value: str) -> list[str]:
    query = SearchQuery(params=(SearchParam("family", (value,)),))
    return sorted(m.id for m in store.search("Patient", query).matches)


def test_postgresql_builds_on_two_connections_at_once(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_patients(store, tmp_path / "p.ndjson", 200)
    before = definitions(store)
    expected = 2 if store.dialect == "postgresql" else 1
    assert store.backend.index_build_connections == expected
    # The first builds wait for each other: a serial build would break the barrier.
    together = threading.Barrier(expected, timeout=20)
    sessions: list[object] = []
    real = builds.build_deferred_index

    def build(backend: Backend, db: Executor, name: str) -> int:
        if len(sessions) < expected:
            sessions.append(db.rows(session_query(store))[0][0])
            together.wait()
        return real(backend, db, name)

    monkeypatch.setattr(builds, "build_deferred_index", build)
    assert defer_bulk_indexes(store.backend) == len(before)
    assert rebuild_deferred_indexes(store.backend) == len(before)
    assert len(set(sessions)) == expected  # distinct connections (one on SQLite)
    assert definitions(store) == before and deferred(store) == []
    assert family_ids(store, "tran 7x") == ["p7"]


def session_query(store: SqlStore) -> str:
    if store.dialect == "postgresql":
        return "SELECT pg_backend_pid()"
    return "SELECT 1"


def test_racing_builders_build_every_index_once(store: SqlStore, tmp_path: Path) -> None:
    load_patients(store, tmp_path / "p.ndjson", 200)
    before = definitions(store)
    assert defer_bulk_indexes(store.backend) == len(before)
    counts: list[int] = []
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            counts.append(rebuild_deferred_indexes(store.backend))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    racers = [threading.Thread(target=rebuild) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=60)
    assert errors == []
    assert len(counts) == 2 and sum(counts) == len(before)  # none built twice
    assert definitions(store) == before and deferred(store) == []


def test_the_build_leaves_the_connection_settings_as_they_were(
    store: SqlStore, tmp_path: Path
) -> None:
    load_patients(store, tmp_path / "p.ndjson", 50)
    settings = (
        ["SHOW maintenance_work_mem", "SHOW max_parallel_maintenance_workers"]
        if store.dialect == "postgresql"
        else ["PRAGMA cache_size", "PRAGMA threads", "PRAGMA mmap_size"]
    )

    def current() -> list[object]:
        with store.backend.reading() as db:  # the pool's idle connection: the builder's
            return [db.rows(sql)[0][0] for sql in settings]

    before = current()
    assert defer_bulk_indexes(store.backend) > 0
    assert rebuild_deferred_indexes(store.backend) > 0
    assert current() == before


KILLED_BUILD = """
import os, signal, sys
from yteso.store import deferred_indexes, load_paths, open_store

real = deferred_indexes.build_deferred_index
calls = []
def build(backend, db, name):
    calls.append(name)
    if len(calls) == 4:  # three builds claimed before: on PostgreSQL some are committed
        os.kill(os.getpid(), signal.SIGKILL)
    return real(backend, db, name)
deferred_indexes.build_deferred_index = build
store = open_store(sys.argv[1])
load_paths(store, [sys.argv[2]], workers=1, defer_indexes=True)
"""


def test_a_build_killed_midway_is_finished_at_the_next_open(store_url: str, tmp_path: Path) -> None:
    fresh = open_store(store_url)
    before = definitions(fresh)
    dialect = fresh.dialect
    fresh.close()
    path = tmp_path / "p.ndjson"
    rows = (
        {"resourceType": "Patient", "id": f"p{i}", "name": [{"family": f"Lê {i}x"}]}
        for i in range(300)
    )
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    loader = subprocess.run(
        [sys.executable, "-c", KILLED_BUILD, store_url, str(path)], timeout=120, check=False
    )
    assert loader.returncode == -signal.SIGKILL
    left = leftover_records(store_url)
    if dialect == "postgresql":  # each index its own transaction: the first ones stayed built
        assert 0 < len(left) < len(before)
    else:  # one transaction: rolled back whole
        assert sorted(left) == sorted(before)
    store = open_store_after_the_dead_session(store_url)
    try:
        assert definitions(store) == before and deferred(store) == []
        assert family_ids(store, "le 42x") == ["p42"]  # the load itself was committed
    finally:
        store.close()


def leftover_records(store_url: str) -> list[str]:
    """The ``deferred_index`` records, read without opening the store (which would rebuild)."""
    if store_url.startswith("sqlite:///"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            return [str(name) for (name,) in db.execute("SELECT name FROM deferred_index")]
    with psycopg.connect(store_url) as db:
        return [str(name) for (name,) in db.execute("SELECT name FROM deferred_index")]
