"""Bulk index builds (``deferred_indexes``): a load that drops the search indexes rebuilds
exactly them, and a load killed in between leaves a record that the next open rebuilds from
(unless a live load still holds the lock). Both backends."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.deferred_support import (
    deferred,
    definitions,
    open_store_after_the_dead_session,
    write_patients,
)
from yteso.store import SearchParam, SearchQuery, SqlStore, load_paths, open_store
from yteso.store import bulk_load as bulk
from yteso.store.deferred_indexes import defer_bulk_indexes


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def family_ids(store: SqlStore, value: str) -> list[str]:
    query = SearchQuery(params=(SearchParam("family", (value,)),))
    return sorted(m.id for m in store.search("Patient", query).matches)


def test_a_deferred_load_rebuilds_exactly_the_indexes_it_dropped(
    store: SqlStore, tmp_path: Path
) -> None:
    before = definitions(store)
    assert len(before) >= 16  # every index table's resource and lookup indexes
    report = load_paths(store, [write_patients(tmp_path / "p.ndjson", 300)], defer_indexes=True)
    assert report.loaded == 300
    assert definitions(store) == before and deferred(store) == []
    assert family_ids(store, "tran 12x") == ["p12"]


def test_the_default_defers_only_large_loads_into_an_empty_store(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[int] = []
    real = bulk.defer_bulk_indexes
    monkeypatch.setattr(bulk, "defer_bulk_indexes", lambda b: dropped.append(real(b)) or 1)
    monkeypatch.setattr(bulk, "DEFER_INDEXES_FROM", 50)
    load_paths(store, [write_patients(tmp_path / "small.ndjson", 49)])
    assert dropped == []  # below the threshold
    store.bulk_write([{"resourceType": "Patient", "id": "x"}])
    load_paths(store, [write_patients(tmp_path / "big.ndjson", 60)])
    assert dropped == []  # the store is not empty
    with store.session() as session:
        session.delete("Patient", "x")
    # a store holding only deleted resources still has current rows: not empty either
    load_paths(store, [write_patients(tmp_path / "big.ndjson", 60)])
    assert dropped == [] and deferred(store) == []


def test_a_load_into_an_empty_store_defers_by_default(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "DEFER_INDEXES_FROM", 50)
    monkeypatch.setattr(bulk, "CHUNK_BYTES", 1000)  # batches written while the load runs
    seen: list[list[str]] = []
    store = open_store(store_url)
    try:
        before = definitions(store)
        path = write_patients(tmp_path / "big.ndjson", 60)
        on_batch = lambda done, total: seen.append(deferred(store))  # noqa: E731
        load_paths(store, [path], progress=on_batch, batch_size=20)
        assert seen[0] == sorted(before)  # dropped while loading
        assert seen[-1] == []  # the last call comes after the build
        assert definitions(store) == before and deferred(store) == []
    finally:
        store.close()


def test_open_rebuilds_what_a_dead_load_left_unless_a_load_is_live(store_url: str) -> None:
    store = open_store(store_url)
    before = definitions(store)
    with store.backend.bulk_load_lock() as got:
        assert got
        assert defer_bulk_indexes(store.backend) == len(before)
        other = open_store(store_url)  # a live load holds the lock: left alone
        assert definitions(other) == {} and sorted(deferred(other)) == sorted(before)
        other.close()
        with store.backend.bulk_load_lock() as second:
            assert not second  # one load at a time defers
    store.close()
    reopened = open_store(store_url)  # nobody holds the lock: the dead load's leftovers
    try:
        assert definitions(reopened) == before and deferred(reopened) == []
    finally:
        reopened.close()


LOADER = """
import sys
from yteso.store import bulk_load, load_paths, open_store

bulk_load.CHUNK_BYTES = 4000  # a batch of ~100 resources is written after a few chunks
store = open_store(sys.argv[1])
def progress(done, total):
    print(done, flush=True)
load_paths(store, [sys.argv[2]], progress, workers=1, batch_size=100, defer_indexes=True)
print("finished", flush=True)
"""


def test_a_load_killed_mid_way_gets_its_indexes_back_at_open(
    store_url: str, tmp_path: Path
) -> None:
    fresh = open_store(store_url)
    before = definitions(fresh)
    fresh.close()
    path = write_patients(tmp_path / "p.ndjson", 5000)
    with subprocess.Popen(
        [sys.executable, "-c", LOADER, store_url, str(path)], stdout=subprocess.PIPE, text=True
    ) as loader:
        assert loader.stdout is not None
        try:
            written = int(loader.stdout.readline())  # one batch committed, indexes dropped
            assert 100 <= written < 5000
            os.kill(loader.pid, signal.SIGKILL)
        finally:
            loader.kill()
            loader.wait(timeout=30)
    assert loader.returncode == -signal.SIGKILL
    store = open_store_after_the_dead_session(store_url)
    try:
        assert definitions(store) == before and deferred(store) == []
        assert family_ids(store, "tran 42x") == ["p42"]  # what was committed is searchable
    finally:
        store.close()


WORKER_LOADER = """
import multiprocessing, sys
from yteso.store import bulk_load, load_paths, open_store

bulk_load.CHUNK_BYTES = 4000
store = open_store(sys.argv[1])
def progress(done, total):
    print(done, *[p.pid for p in multiprocessing.active_children()], flush=True)
load_paths(store, [sys.argv[2]], progress, workers=2, batch_size=100, defer_indexes=True)
"""


def _ended(pid: int) -> bool:
    """Whether ``pid`` has exited (gone, or a zombie its new parent has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _wait_ended(pids: list[int], seconds: float = 20.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (alive := [pid for pid in pids if not _ended(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def test_a_killed_load_s_live_workers_do_not_keep_its_lock(store_url: str, tmp_path: Path) -> None:
    """The load's worker processes (forked on SQLite, spawned on PostgreSQL) end with a
    SIGKILLed writer instead of sleeping on (``orphan_guard``, Linux); either way the next open
    takes the lock and rebuilds what the load dropped."""
    fresh = open_store(store_url)
    before = definitions(fresh)
    fresh.close()
    path = write_patients(tmp_path / "p.ndjson", 5000)
    workers: list[int] = []
    with subprocess.Popen(
        [sys.executable, "-c", WORKER_LOADER, store_url, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    ) as loader:
        assert loader.stdout is not None
        try:
            written, *workers = map(int, loader.stdout.readline().split())
            assert 100 <= written < 5000 and len(workers) == 2
            os.kill(loader.pid, signal.SIGKILL)
        finally:
            loader.kill()
            loader.wait(timeout=30)
    try:  # the workers are killed below even when they failed to end by themselves
        if sys.platform.startswith("linux"):
            assert _wait_ended(workers) == []
        store = open_store_after_the_dead_session(store_url)
        try:
            assert definitions(store) == before and deferred(store) == []
        finally:
            store.close()
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
