"""``run_view(view, source)``: one entry point, the engine chosen by the source.

https://sql-on-fhir.org/ig/latest/ (ViewDefinition) and DESIGN.md (Warehouse). A PostgreSQL URL
or connection runs on PostgreSQL over the live store; resources, NDJSON, Parquet and a SQLite
store (``sqlite:///PATH``) run on DuckDB; ``engine="python"`` runs the FHIRPath evaluator (the
reference). A view the SQL compilers do not cover (none of the official suite; e.g. a boundary
precision above 8 digits, a non-literal argument) falls back to the Python engine, said by
:func:`sql_compiles`.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.fhirpath.sql import NotCompilable
from yteso.warehouse.duckdb_views import run_duckdb
from yteso.warehouse.postgres_views import run_postgres
from yteso.warehouse.python_views import PythonViewRunner
from yteso.warehouse.view_definition import View, read_view
from yteso.warehouse.view_sources import (
    is_postgres,
    is_store,
    ndjson_files,
    parquet_files,
    store_texts,
)
from yteso.warehouse.view_sql import compile_view

ENGINES = ("duckdb", "postgres", "python", "spark")


def sql_compiles(view: View, dialect: str) -> bool:
    try:
        compile_view(view, dialect, "resources")
    except NotCompilable:
        return False
    return True


def run_view(view: Json, source: Any, *, engine: str | None = None) -> list[Json]:
    """The rows of the ViewDefinition ``view`` over ``source``.

    ``source``: an iterable of resources (JSON), an NDJSON file or folder, a Parquet file or
    folder, or the live store (a ``sqlite:///PATH`` or PostgreSQL URL, a psycopg connection).
    ``engine``: ``duckdb``, ``postgres``, ``python`` or ``spark`` (local mode); by default
    PostgreSQL for a PostgreSQL source, else DuckDB (which loads a SQLite store's resources).
    Raises :class:`yteso.fhir.errors.Invalid` for a bad view or one that fails on the data.
    """
    checked = read_view(view)
    chosen = engine or ("postgres" if is_postgres(source) else "duckdb")
    if chosen not in ENGINES:
        raise ValueError(f"unknown engine {chosen}; one of {', '.join(ENGINES)}")
    if chosen == "spark":
        from yteso.warehouse.spark_views import compile_spark_view, local_spark, run_spark

        try:
            compile_spark_view(checked)
        except NotCompilable:
            chosen = "python"
        else:
            return run_spark(checked, source, local_spark())
    if chosen != "python" and not sql_compiles(checked, chosen):
        chosen = "python"
    if chosen == "postgres":
        if not is_postgres(source):
            raise Invalid("the postgres engine runs over a PostgreSQL store (URL or connection)")
        return run_postgres(checked, source)
    if chosen == "duckdb":
        return run_duckdb(checked, source)
    return list(PythonViewRunner(checked).rows(read_resources(source, checked.resource)))


def read_resources(source: Any, resource_type: str) -> Iterable[Json]:
    """Resources from an iterable, an NDJSON or Parquet file or folder, or the live store
    (its current ``resource_type`` resources), for the Python engine."""
    if is_store(source):
        return (orjson.loads(t) for batch in store_texts(source, resource_type) for t in batch)
    if not isinstance(source, (str, Path)):
        resources: Iterable[Json] = source
        return resources
    path = Path(source)
    if parquet := parquet_files(path):
        return _parquet(parquet)
    files = ndjson_files(path, resource_type) if path.is_dir() else [path]
    return (resource for file in files for resource in _ndjson(file))


def _ndjson(path: Path) -> Iterator[Json]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as lines:
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


def _parquet(files: list[Path]) -> Iterator[Json]:
    import pyarrow.parquet as pq

    for file in files:
        for text in pq.read_table(file, columns=["resource"]).column("resource").to_pylist():
            yield orjson.loads(text)
