"""``run_view(view, source)``: one entry point, the engine chosen by the source.

https://sql-on-fhir.org/ig/latest/ (ViewDefinition) and DESIGN.md (Warehouse). A PostgreSQL URL
or connection runs on PostgreSQL over the live store; resources, NDJSON and Parquet run on
DuckDB; ``engine="python"`` runs the FHIRPath evaluator (the reference). A view the SQL
compilers do not cover (none of the official suite; e.g. a boundary precision above 8 digits,
a non-literal argument) falls back to the Python engine, said by :func:`sql_compiles`.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from yteso.fhir.types import Json
from yteso.fhirpath.sql import NotCompilable
from yteso.warehouse.duckdb_views import ndjson_files, run_duckdb
from yteso.warehouse.postgres_views import run_postgres
from yteso.warehouse.python_views import PythonViewRunner
from yteso.warehouse.view_definition import View, read_view
from yteso.warehouse.view_sql import compile_view

ENGINES = ("duckdb", "postgres", "python", "spark")


def is_postgres(source: Any) -> bool:
    if isinstance(source, str):
        return source.startswith(("postgresql://", "postgres://"))
    return type(source).__module__.startswith("psycopg")


def sql_compiles(view: View, dialect: str) -> bool:
    try:
        compile_view(view, dialect, "resources")
    except NotCompilable:
        return False
    return True


def run_view(view: Json, source: Any, *, engine: str | None = None) -> list[Json]:
    """The rows of the ViewDefinition ``view`` over ``source``.

    ``source``: an iterable of resources (JSON), an NDJSON file or folder, a Parquet file or
    folder, or a PostgreSQL URL/connection (the live store). ``engine``: ``duckdb``,
    ``postgres``, ``python`` or ``spark`` (local mode; resources or NDJSON); by default
    PostgreSQL for a PostgreSQL source, else DuckDB.
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
        return run_postgres(checked, source)
    if chosen == "duckdb":
        return run_duckdb(checked, source)
    return list(PythonViewRunner(checked).rows(read_resources(source, checked.resource)))


def read_resources(source: Any, resource_type: str) -> Iterable[Json]:
    """Resources from an iterable, an NDJSON file or folder (for the Python engine)."""
    if is_postgres(source):
        raise NotCompilable("the Python engine reads resources, NDJSON or Parquet")
    if not isinstance(source, (str, Path)):
        resources: Iterable[Json] = source
        return resources
    path = Path(source)
    if path.suffix == ".parquet" or (path.is_dir() and any(path.glob("*.parquet"))):
        return _parquet(path)
    files = ndjson_files(path, resource_type) if path.is_dir() else [path]
    return (resource for file in files for resource in _ndjson(file))


def _ndjson(path: Path) -> Iterator[Json]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as lines:
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


def _parquet(path: Path) -> Iterator[Json]:
    import pyarrow.parquet as pq

    for file in sorted(path.glob("*.parquet")) if path.is_dir() else [path]:
        for text in pq.read_table(file, columns=["resource"]).column("resource").to_pylist():
            yield orjson.loads(text)
