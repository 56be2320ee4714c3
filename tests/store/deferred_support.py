"""What the deferred-index tests read back: the indexes a bulk load may defer that exist, and
those recorded as dropped (``deferred_indexes``); and a store as an older release left it,
with data written as that release wrote it."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from yteso.fhir.types import Json
from yteso.store import SqlStore, open_store
from yteso.store import migrations as schema_migrations
from yteso.store.index_tables import INDEX_COLUMNS
from yteso.store.sql_files import Migration


def definitions(store: SqlStore) -> dict[str, str]:
    """The deferrable secondary indexes: name -> definition."""
    query = store.backend.queries["deferrable_index_definitions"]
    with store.backend.reading() as db:
        return {str(n): str(d) for n, d in db.rows(query)}


def deferred(store: SqlStore) -> list[str]:
    """The indexes recorded as dropped and not yet rebuilt."""
    with store.backend.reading() as db:
        return [str(name) for name, _ in db.rows(store.backend.queries["deferred_indexes"])]


def open_store_after_the_dead_session(store_url: str) -> SqlStore:
    """Open the store once its open has rebuilt what a killed load dropped: PostgreSQL ends the
    killed client's session (and its lock) soon, not at once; gives up after 20 s."""
    deadline = time.monotonic() + 20
    while True:
        store = open_store(store_url)
        if deferred(store) == [] or time.monotonic() > deadline:
            return store
        store.close()
        time.sleep(0.2)


def open_at_version(url: str, monkeypatch: pytest.MonkeyPatch, last: int) -> SqlStore:
    """A store as a release whose last migration was ``last`` left it."""
    real = schema_migrations.load_migrations

    def up_to_last(package: str) -> list[Migration]:
        return [m for m in real(package) if m.version <= last]

    with monkeypatch.context() as patched:
        patched.setattr(schema_migrations, "load_migrations", up_to_last)
        return open_store(url)


def write_before_param_keys(store: SqlStore, resources: list[Json]) -> None:
    """Write ``resources`` into a store older than migration 0015 as its release did: today's
    writers name the ``pkey`` column, so it exists only while they write, then goes (the rows
    keep every other value, as the old writers stored them)."""
    kind = "BIGINT" if store.dialect == "postgresql" else "INTEGER"
    with store.backend.writing() as db:
        for table in INDEX_COLUMNS:
            db.run(f"ALTER TABLE search_{table} ADD COLUMN pkey {kind}")
    store.bulk_write(resources)
    with store.backend.writing() as db:
        for table in INDEX_COLUMNS:
            db.run(f"ALTER TABLE search_{table} DROP COLUMN pkey")


def write_patients(path: Path, count: int) -> Path:
    """An NDJSON file of ``count`` Patients ``p0``... with Vietnamese family names."""
    rows = (
        {"resourceType": "Patient", "id": f"p{i}", "name": [{"family": f"Trần {i}x"}]}
        for i in range(count)
    )
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path
