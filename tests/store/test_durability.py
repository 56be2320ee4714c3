"""SIGKILL mid-write loses nothing acknowledged; reopening is idempotent (both backends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from yteso.store import open_store
from yteso.store.sql_files import load_migrations

MIGRATIONS = [m.version for m in load_migrations("yteso.store.sqlite")]

# Writes forever, printing each id only after its transaction committed (the acknowledgement).
WRITER = """
import sys
from yteso.store import open_store
from yteso.store.sql_files import load_migrations

MIGRATIONS = [m.version for m in load_migrations("yteso.store.sqlite")]

store = open_store(sys.argv[1])
mode = sys.argv[2]
n = 0
while True:
    if mode == "session":
        with store.session() as session:
            ids = [session.create({"resourceType": "Basic", "code": {"text": str(n)}}).stored.id]
    else:
        code = {"text": "x"}
        batch = [{"resourceType": "Basic", "id": f"b{n}-{i}", "code": code} for i in range(200)]
        store.bulk_write(batch)
        ids = [r["id"] for r in batch]
    print("\\n".join(ids), flush=True)
    n += 1
"""


@pytest.mark.parametrize("mode", ["session", "bulk"])
def test_sigkill_loses_nothing_acknowledged(store_url: str, mode: str) -> None:
    acknowledged = []
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, store_url, mode], stdout=subprocess.PIPE, text=True
    ) as writer:
        assert writer.stdout is not None
        try:
            while len(acknowledged) < 300:
                line = writer.stdout.readline()
                assert line, f"the writer died (exit {writer.poll()})"
                acknowledged.append(line.strip())
            os.kill(writer.pid, signal.SIGKILL)
            acknowledged.extend(line.strip() for line in writer.stdout.read().splitlines())
        finally:
            writer.kill()
            writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    store = open_store(store_url)
    try:
        for id in acknowledged:
            assert store.read("Basic", id).id == id
        assert store.counts()["Basic"] >= len(acknowledged)
    finally:
        store.close()


def test_reopen_keeps_data_and_schema(store_url: str) -> None:
    first = open_store(store_url)
    first.bulk_write([{"resourceType": "Patient", "id": "p"}])
    first.close()
    second = open_store(store_url)
    try:
        assert second.read("Patient", "p").version == 1
        with second.backend.reading() as db:
            versions = db.rows("SELECT version FROM schema_version ORDER BY version")
        assert [int(v) for (v,) in versions] == MIGRATIONS
    finally:
        second.close()


def test_sqlite_memory_store_works_across_threads() -> None:
    store = open_store("sqlite:///:memory:")
    with store.session() as session:
        session.update({"resourceType": "Patient", "id": "p"})
    assert store.read("Patient", "p").version == 1
    store.close()


def test_both_backends_have_the_same_migrations() -> None:
    sqlite = [(m.version, m.name) for m in load_migrations("yteso.store.sqlite")]
    postgres = [(m.version, m.name) for m in load_migrations("yteso.store.postgres")]
    versions = [v for v, _ in sqlite]
    # Numbers are reserved per line of work, so one may land before a lower one: unique and
    # increasing is what matters (every unapplied version is applied when a store opens).
    assert sqlite == postgres and versions == sorted(set(versions)) and versions[0] == 1


def test_a_new_migration_applies_to_an_existing_database(store_url: str) -> None:
    from yteso.store.migrations import apply_migrations

    store = open_store(store_url)
    try:
        with store.backend.writing() as db:
            db.run("DROP INDEX resource_current_type_seq")
            db.run("DELETE FROM schema_version WHERE version = 2")
        package = f"yteso.store.{'sqlite' if store.dialect == 'sqlite' else 'postgres'}"
        assert apply_migrations(store.backend, package) == [2]
        assert apply_migrations(store.backend, package) == []
    finally:
        store.close()
