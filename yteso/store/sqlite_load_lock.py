"""The SQLite bulk-load lock: an exclusive ``flock`` on a file beside the database.

The kernel drops it when the process dies, so ``open_store`` can tell a load that died (and
left indexes to rebuild, ``deferred_indexes``) from one still running. It is not taken on the
database file itself, whose POSIX locks SQLite owns.

A forked child (the loader's workers, ``bulk_load._worker_context``) inherits the lock file's
descriptor, and a ``flock`` belongs to the open file, not to the process: a worker left
running by a killed load would keep the lock, and the next open would never rebuild what that
load dropped. So a forked child points the descriptor at /dev/null at once: never
``LOCK_UN``, which would release the parent's lock, and never a plain close, so that the
number stays the same file for anything in the child that closes it later.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

# Descriptors of the lock files this process holds locked.
_HELD: set[int] = set()


@contextmanager
def load_lock(path: str) -> Iterator[bool]:
    """Hold the lock at ``path`` while the block runs; yields whether it was free (the block
    runs either way: a second load goes on without deferring indexes)."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        _HELD.add(handle.fileno())
        try:
            yield True
        finally:
            _HELD.discard(handle.fileno())
            fcntl.flock(handle, fcntl.LOCK_UN)


def held_descriptors() -> frozenset[int]:
    """The descriptors this process holds the lock through (for tests)."""
    return frozenset(_HELD)


def _let_go_in_child() -> None:
    if not _HELD:
        return
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        for fd in _HELD:
            os.dup2(null, fd)
    finally:
        os.close(null)
    _HELD.clear()


os.register_at_fork(after_in_child=_let_go_in_child)
