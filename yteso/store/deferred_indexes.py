"""Bulk index builds: a large load into an empty store drops secondary indexes first (the
search tables'; on SQLite the resource tables' non-unique ones too: the backend's
``deferrable_index_definitions``) and builds them once at the end (docs/dev/storage.md
"Bulk load").

Building a B-tree from all its rows at once (a sort) costs far less than inserting ~16 index
rows per resource into ~17 B-trees one by one (PostgreSQL's advice for COPY loads:
https://www.postgresql.org/docs/current/populate.html#POPULATE-RM-INDEXES). Crash safety: the
definitions are recorded in ``deferred_index`` in the same transaction that drops them, and
each record is removed in the transaction that recreates its index, so a load that dies leaves
a record for every index not yet built; opening the store rebuilds from them, unless a live
load still holds the bulk-load lock.

The build runs on ``Backend.index_build_connections`` connections at once: PostgreSQL builds
several indexes in parallel (one transaction each), SQLite, with its single writer, builds them
all in one transaction and parallelises each sort with helper threads instead.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from yteso.store.sql_backend import Backend, Executor


def defer_bulk_indexes(backend: Backend) -> int:
    """Drop the backend's deferrable indexes, recording how to recreate each; returns how many
    were dropped."""
    queries = backend.queries
    with backend.writing() as db:
        found = db.rows(queries["deferrable_index_definitions"])
        for name, definition in found:
            db.run(queries["record_deferred_index"], (name, definition))
            db.run(f'DROP INDEX "{name}"')  # a name from the catalog, quoted as an identifier
    return len(found)


def rebuild_deferred_indexes(backend: Backend) -> int:
    """Recreate every recorded index; returns how many this call built."""
    with backend.reading() as db:
        names = [str(name) for (name,) in db.rows(backend.queries["deferred_index_build_order"])]
    connections = min(backend.index_build_connections, len(names))
    if connections <= 1:
        with backend.index_build() as db:
            return sum(build_deferred_index(backend, db, name) for name in names)
    with ThreadPoolExecutor(connections, thread_name_prefix="index-build") as pool:
        return sum(pool.map(lambda name: _build_alone(backend, name), names))


def _build_alone(backend: Backend, name: str) -> int:
    with backend.index_build() as db:
        return build_deferred_index(backend, db, name)


def build_deferred_index(backend: Backend, db: Executor, name: str) -> int:
    """Claim the index's record and create the index, in the caller's transaction; 0 when the
    record is gone (another builder made it)."""
    claimed = db.rows(backend.queries["claim_deferred_index"], (name,))
    if not claimed:
        return 0
    db.run(str(claimed[0][0]))
    return 1


def recover_deferred_indexes(backend: Backend) -> int:
    """At open: rebuild what a load that died left dropped (before migrations, which may
    name those indexes); nothing while a live load holds the lock."""
    with backend.reading() as db:
        if not int(db.rows(backend.queries["deferred_index_table"])[0][0]):
            return 0  # a database from before migration 0008
        if not db.rows(backend.queries["deferred_indexes"]):
            return 0
    with backend.bulk_load_lock() as free:
        return rebuild_deferred_indexes(backend) if free else 0


def store_is_empty(backend: Backend) -> bool:
    with backend.reading() as db:
        return not db.rows(backend.queries["any_current"])
