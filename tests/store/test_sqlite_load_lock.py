"""The SQLite bulk-load lock is not kept alive by forked children (the loader's workers).

A ``flock`` belongs to the open file: a worker forked while the lock is held shares it, and a
worker left running by a killed load would keep it, so the next open would never rebuild the
indexes that load dropped (``deferred_indexes``). ``sqlite_load_lock`` lets go in the child.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from yteso.store import bulk_load
from yteso.store.sqlite_load_lock import held_descriptors, load_lock

HOLDER = """
import os, sys, time
from yteso.store.sqlite_load_lock import load_lock

with load_lock(sys.argv[1]) as alone:
    assert alone
    ready, started = os.pipe()
    child = os.fork()
    if child == 0:  # a worker: lives on after its parent is killed
        os.write(started, b"1")  # the at-fork hooks have run (before fork() returned here)
        time.sleep(60)
        os._exit(0)
    os.read(ready, 1)  # else a child not yet scheduled would still share the lock
    print(child, flush=True)
    time.sleep(60)
"""


def _free(path: Path) -> bool:
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def test_a_forked_child_does_not_keep_the_lock_of_a_killed_parent(tmp_path: Path) -> None:
    path = tmp_path / "db-load.lock"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None
        child = int(holder.stdout.readline())
        try:
            assert not _free(path)  # the parent holds it
            holder.kill()
            holder.wait(timeout=30)
            assert _free(path)  # its child is still alive, and does not hold it
            os.kill(child, 0)
        finally:
            os.kill(child, signal.SIGKILL)


def test_held_descriptors_follow_the_lock(tmp_path: Path) -> None:
    path = str(tmp_path / "db-load.lock")
    with load_lock(path) as alone:
        assert alone and len(held_descriptors()) == 1
        with load_lock(path) as second:
            assert not second  # another open file: refused
    assert held_descriptors() == frozenset() and _free(Path(path))


def test_workers_fork_only_where_allowed_and_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = [1]  # as if this process ran that many threads (a test run may leave some)
    monkeypatch.setattr(bulk_load.threading, "active_count", lambda: threads[0])
    assert bulk_load._worker_context(True).get_start_method() == "fork"
    assert bulk_load._worker_context(False).get_start_method() == "spawn"
    threads[0] = 2  # another thread could hold a lock the child would inherit held
    assert bulk_load._worker_context(True).get_start_method() == "spawn"
