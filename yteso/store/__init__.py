"""Versioned FHIR resource storage on SQLite or PostgreSQL.

``open_store(url)`` gives a :class:`~yteso.store.base.Store`; ``load_paths`` bulk-loads NDJSON
and Bundle files. Design: docs/dev/storage.md.
"""

from __future__ import annotations

from pathlib import Path

from yteso.fhir.definitions import search_parameters
from yteso.store.base import (
    Reach,
    SearchParam,
    SearchQuery,
    SearchResult,
    Store,
    StoredVersion,
    StoreSession,
    WriteResult,
)
from yteso.store.bulk_load import LoadFailure, LoadReport, load_paths
from yteso.store.deferred_indexes import recover_deferred_indexes
from yteso.store.index_rows import IndexRow, extract_index_rows
from yteso.store.migrations import apply_migrations
from yteso.store.search_sql import supported_search_params
from yteso.store.sql_store import SqlStore

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def open_store(url: str) -> SqlStore:
    """Open (creating and migrating when needed) the store at ``url``:
    ``sqlite:///PATH``, ``sqlite:///:memory:`` or ``postgresql://user@host:port/db[?...]``."""
    # Parse the R4 search-parameter registry now (45-100 ms at 1M-resource bench time), not in
    # the first search or write of the process (it was most of that search's p99).
    search_parameters("Resource")
    if url.startswith(SQLITE_PREFIX):
        from yteso.store.sqlite_backend import SqliteBackend

        path = url.removeprefix(SQLITE_PREFIX)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        sqlite = SqliteBackend(path)
        recover_deferred_indexes(sqlite)
        apply_migrations(sqlite, "yteso.store.sqlite")
        store = SqlStore(url, sqlite)
        store.refresh_statistics()  # e.g. a file written by a build that never analyzed
        return store
    if url.startswith(POSTGRES_PREFIXES):
        from yteso.store.postgres_backend import PostgresBackend

        postgres = PostgresBackend(url)
        try:
            recover_deferred_indexes(postgres)
            apply_migrations(postgres, "yteso.store.postgres")
        except BaseException:
            postgres.close()
            raise
        return SqlStore(url, postgres)
    raise ValueError(f"unsupported database URL {url!r} (sqlite:///PATH or postgresql://...)")


__all__ = [
    "IndexRow",
    "LoadFailure",
    "LoadReport",
    "Reach",
    "SearchParam",
    "SearchQuery",
    "SearchResult",
    "SqlStore",
    "Store",
    "StoreSession",
    "StoredVersion",
    "WriteResult",
    "apply_migrations",
    "extract_index_rows",
    "load_paths",
    "open_store",
    "supported_search_params",
]
