"""Bulk index builds: a large load into an empty store drops the search tables' secondary
indexes first and builds them once at the end (docs/dev/storage.md "Bulk load").

Building a B-tree from all its rows at once (a sort) costs far less than inserting ~16 index
rows per resource into ~17 B-trees one by one (PostgreSQL's advice for COPY loads:
https://www.postgresql.org/docs/current/populate.html#POPULATE-RM-INDEXES). Crash safety: the
definitions are recorded in ``deferred_index`` in the same transaction that drops them, and
removed in the one that recreates them, so a load that dies leaves a record; opening the store
rebuilds from it, unless a live load still holds the bulk-load lock.
"""

from __future__ import annotations

from yteso.store.sql_backend import Backend


def defer_search_indexes(backend: Backend) -> int:
    """Drop the search tables' secondary indexes, recording how to recreate each; returns how
    many were dropped."""
    queries = backend.queries
    with backend.writing() as db:
        found = db.rows(queries["search_index_definitions"])
        for name, definition in found:
            db.run(queries["record_deferred_index"], (name, definition))
            db.run(f'DROP INDEX "{name}"')  # a name from the catalog, quoted as an identifier
    return len(found)


def rebuild_deferred_indexes(backend: Backend) -> int:
    """Recreate every recorded index in one transaction; returns how many."""
    queries = backend.queries
    with backend.writing() as db:
        found = db.rows(queries["deferred_indexes"])
        if found:
            db.run(queries["index_build_settings"])
        for name, definition in found:
            db.run(str(definition))
            db.run(queries["forget_deferred_index"], (name,))
    return len(found)


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
