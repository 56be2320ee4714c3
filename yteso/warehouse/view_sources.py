"""Where a view's resources come from: NDJSON or Parquet files, or the live store.

https://hl7.org/fhir/uv/bulkdata/export.html#file-request names the NDJSON files of an export
(``Patient.ndjson``, ``Patient.000.ndjson.gz``); Parquet files hold one ``resource`` column of
JSON text. The live store is a ``sqlite:///PATH`` or ``postgresql://...`` URL (or a psycopg
connection): its current, not deleted resources are read from the store's own tables
(``resource_current`` and the body in ``resource_history``, docs/dev/storage.md) a batch at a
time, so an engine other than PostgreSQL itself can run a view over the store. The warehouse
does not import the store package (DESIGN.md layers): this SQL reads the documented schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import quote

from yteso.fhir.errors import Invalid

NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl")
SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")
BATCH = 10_000  # resources per batch read from the store
CURRENT_BODIES = (
    "SELECT h.body FROM resource_current c JOIN resource_history h ON h.seq = c.seq "
    "WHERE NOT c.deleted AND c.resource_type = {marker}"
)


def ndjson_files(folder: Path, resource_type: str) -> list[Path]:
    """The NDJSON files of ``folder`` for ``resource_type`` (all of them if none is named)."""
    found = sorted(p for p in folder.iterdir() if p.name.endswith(NDJSON_SUFFIXES))
    named = [p for p in found if p.name.split(".")[0].split("-")[0] == resource_type]
    return named or found


def parquet_files(path: Path) -> list[Path]:
    """The Parquet files of a ``.parquet`` file or a folder holding some, else []."""
    if path.is_dir():
        return sorted(path.glob("*.parquet"))
    return [path] if path.suffix == ".parquet" else []


def is_postgres(source: Any) -> bool:
    if isinstance(source, str):
        return source.startswith(POSTGRES_PREFIXES)
    return type(source).__module__.startswith("psycopg")


def is_sqlite(source: Any) -> bool:
    return isinstance(source, str) and source.startswith(SQLITE_PREFIX)


def is_store(source: Any) -> bool:
    """A live store: a SQLite or PostgreSQL URL, or a psycopg connection."""
    return is_sqlite(source) or is_postgres(source)


def store_texts(source: Any, resource_type: str) -> Iterator[list[str]]:
    """The JSON texts of the store's current ``resource_type`` resources, in batches."""
    if is_sqlite(source):
        yield from _sqlite_texts(source.removeprefix(SQLITE_PREFIX), resource_type)
    elif isinstance(source, str):
        import psycopg

        with psycopg.connect(source) as connection:
            yield from _postgres_texts(connection, resource_type)
    else:
        yield from _postgres_texts(source, resource_type)


def _sqlite_texts(path: str, resource_type: str) -> Iterator[list[str]]:
    if path == ":memory:" or not Path(path).is_file():
        raise Invalid(f"no SQLite store at {path!r}")
    # read-only: a source is never created or written (mode=ro also refuses a missing file);
    # an engine may pull the batches from another thread, one at a time
    connection = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, check_same_thread=False)
    try:
        cursor = connection.execute(CURRENT_BODIES.format(marker="?"), (resource_type,))
        while batch := cursor.fetchmany(BATCH):
            yield [body for (body,) in batch]
    except sqlite3.DatabaseError as error:
        raise Invalid(f"{path!r} is not a readable Yteso store: {error}") from error
    finally:
        connection.close()


def _postgres_texts(connection: Any, resource_type: str) -> Iterator[list[str]]:
    # a server-side cursor: the rows come a batch at a time, never all at once; WITH HOLD
    # lets it work on an autocommit connection too
    import psycopg

    try:
        with connection.cursor(name="yteso_view_source", withhold=True) as cursor:
            cursor.execute(CURRENT_BODIES.format(marker="%s"), (resource_type,))
            while batch := cursor.fetchmany(BATCH):
                yield [body for (body,) in batch]
    except psycopg.Error as error:
        connection.rollback()
        raise Invalid(f"the store could not be read: {error}") from error


def store_reader(source: Any, resource_type: str) -> Any:
    """A ``pyarrow.RecordBatchReader`` of one ``resource`` column (JSON text) over the store."""
    import pyarrow as pa

    schema = pa.schema([("resource", pa.string())])
    texts = store_texts(source, resource_type)
    first = next(texts, [])  # a missing or unreadable store fails here, not inside the engine
    batches = (
        pa.record_batch([pa.array(batch, pa.string())], schema=schema)
        for batch in chain([first], texts)
    )
    return pa.RecordBatchReader.from_batches(schema, batches)


__all__ = [
    "NDJSON_SUFFIXES",
    "is_postgres",
    "is_sqlite",
    "is_store",
    "ndjson_files",
    "parquet_files",
    "store_reader",
    "store_texts",
]
