"""SQLite's deferred index build runs with a rollback journal, not the WAL, when no other
connection has the file open (``sqlite_backend._leave_wal``): the new index pages are written
once instead of to the WAL and again by the checkpoint. The file is back in WAL mode after the
build, a build beside another open connection stays in WAL mode without waiting, and a build
killed after its pages reached the file is rolled back by the next open and finished there."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.store.deferred_support import deferred, definitions, write_patients
from yteso.store import SearchParam, SearchQuery, SqlStore, load_paths, open_store
from yteso.store import deferred_indexes as builds
from yteso.store.deferred_indexes import defer_bulk_indexes, rebuild_deferred_indexes
from yteso.store.sql_backend import Backend, Executor


def _loaded(tmp_path: Path, count: int = 300) -> SqlStore:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert load_paths(store, [write_patients(tmp_path / "p.ndjson", count)], defer_indexes=False)
    return store


def _modes_while_building(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], float]:
    """The journal mode each index was built under, and the build's seconds."""
    seen: list[str] = []
    real = builds.build_deferred_index

    def build(backend: Backend, db: Executor, name: str) -> int:
        seen.append(str(db.rows("PRAGMA journal_mode")[0][0]))
        return real(backend, db, name)

    monkeypatch.setattr(builds, "build_deferred_index", build)
    assert defer_bulk_indexes(store.backend) > 0
    started = time.monotonic()
    assert rebuild_deferred_indexes(store.backend) > 0
    return seen, time.monotonic() - started


def _mode(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA journal_mode").fetchone()[0])


def test_the_build_runs_with_a_rollback_journal_and_leaves_wal_mode_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _loaded(tmp_path)
    try:
        before = definitions(store)
        with store.backend.reading():  # an idle connection of the pool: closed for the build
            pass
        seen, _ = _modes_while_building(store, monkeypatch)
        assert set(seen) == {"delete"} and len(seen) == len(before)
        assert definitions(store) == before and deferred(store) == []
        with store.backend.reading() as db:  # the pool's connections are in WAL mode again
            assert db.rows("PRAGMA journal_mode")[0][0] == "wal"
        query = SearchQuery(params=(SearchParam("family", ("tran 42x",)),))
        assert [m.id for m in store.search("Patient", query).matches] == ["p42"]
    finally:
        store.close()
    assert _mode(tmp_path / "db.sqlite") == "wal"
    assert not (tmp_path / "db.sqlite-journal").exists()


def test_beside_another_open_connection_the_build_stays_in_wal_mode_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _loaded(tmp_path)
    other = sqlite3.connect(tmp_path / "db.sqlite")  # a reader of another process, say
    try:
        other.execute("SELECT count(*) FROM resource_current").fetchone()
        before = definitions(store)
        seen, seconds = _modes_while_building(store, monkeypatch)
        assert set(seen) == {"wal"} and seconds < 10  # no wait for the busy timeout (60 s)
        assert definitions(store) == before and deferred(store) == []
        assert other.execute("SELECT count(*) FROM resource_current").fetchone() == (300,)
    finally:
        other.close()
        store.close()
    assert _mode(tmp_path / "db.sqlite") == "wal"


KILLED_AFTER_SPILLS = """
import os, signal, sys
from yteso.store import deferred_indexes, load_paths, open_store, sqlite_backend

# A cache of 8 pages: the build's pages reach the database file long before the kill.
sqlite_backend.INDEX_BUILD_PRAGMAS["cache_size"] = 8
real = deferred_indexes.build_deferred_index
calls = []
def build(backend, db, name):
    calls.append(name)
    if len(calls) == 6:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(backend, db, name)
deferred_indexes.build_deferred_index = build
store = open_store(sys.argv[1])
load_paths(store, [sys.argv[2]], workers=1, defer_indexes=True)
"""


def test_a_build_killed_after_writing_pages_is_rolled_back_and_finished_at_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite"
    fresh = open_store(f"sqlite:///{path}")
    before = definitions(fresh)
    fresh.close()
    source = write_patients(tmp_path / "p.ndjson", 3000)
    loader = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_SPILLS, f"sqlite:///{path}", str(source)],
        timeout=120,
        check=False,
    )
    assert loader.returncode == -signal.SIGKILL
    assert (tmp_path / "db.sqlite-journal").exists()  # the hot journal of the build
    store = open_store(f"sqlite:///{path}")
    try:
        assert definitions(store) == before and deferred(store) == []
        with store.backend.reading() as db:
            assert db.rows("PRAGMA integrity_check") == [("ok",)]
            assert db.rows("PRAGMA journal_mode")[0][0] == "wal"
        query = SearchQuery(params=(SearchParam("family", ("tran 2999x",)),))
        assert [m.id for m in store.search("Patient", query).matches] == ["p2999"]
    finally:
        store.close()
