"""Run compiled views on DuckDB (embedded) over resources, NDJSON, Parquet or the live store.

https://duckdb.org/docs/data/json/overview: NDJSON is read with ``read_json_objects`` (one JSON
value per line); a folder contributes the files named after the view's resource type
(``Patient.ndjson``, ``Patient.000.ndjson.gz``, as Bulk Data ``$export`` writes them) or, when
there are none, every ``*.ndjson`` file. Parquet files hold one ``resource`` JSON text column.
A store (SQLite or PostgreSQL URL) is loaded into a temporary table first
(:mod:`yteso.warehouse.view_sources`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.fhirpath.sql import NotCompilable
from yteso.warehouse.typed_views import compile_typed_view
from yteso.warehouse.view_definition import View
from yteso.warehouse.view_sources import is_store, ndjson_files, parquet_files, store_reader
from yteso.warehouse.view_sql import CompiledView, compile_view


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def source_relation(connection: duckdb.DuckDBPyConnection, source: Any, resource_type: str) -> str:
    """A relation with one ``resource`` JSON column holding the resources of the type."""
    kind = _literal(resource_type)
    if is_store(source):
        rows = f"SELECT resource FROM {_store_table(connection, source, resource_type)}"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if parquet := parquet_files(path):
            listed = "[" + ", ".join(_literal(str(f)) for f in parquet) + "]"
            rows = f"SELECT CAST(resource AS JSON) AS resource FROM read_parquet({listed})"
        else:
            files = ndjson_files(path, resource_type) if path.is_dir() else [path]
            if not files:
                raise Invalid(f"no NDJSON files in {path}")
            listed = "[" + ", ".join(_literal(str(f)) for f in files) + "]"
            rows = (
                "SELECT json AS resource FROM read_json_objects("
                f"{listed}, format = 'newline_delimited')"
            )
    else:
        import pyarrow as pa

        texts = [orjson.dumps(resource).decode() for resource in source]
        connection.register("view_input", pa.table({"resource": pa.array(texts, pa.string())}))
        rows = "SELECT CAST(resource AS JSON) AS resource FROM view_input"
    return f"({rows}) AS t WHERE json_extract_string(t.resource, '$.resourceType') = {kind}"


def _store_table(connection: duckdb.DuckDBPyConnection, source: Any, resource_type: str) -> str:
    """Load the store's current resources of the type into a temporary DuckDB table.

    Streamed from the store a batch at a time; a table (not a one-pass stream) because the
    typed plan may fail on the data and fall back to the JSON plan over the same rows. DuckDB
    spills a large temporary table to disk beyond its memory limit."""
    table = "store_" + "".join(c if c.isalnum() else "_" for c in resource_type)
    connection.register("store_stream", store_reader(source, resource_type))
    try:
        connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            "SELECT CAST(resource AS JSON) AS resource FROM store_stream"
        )
    finally:
        connection.unregister("store_stream")
    return table


def run_duckdb(
    view: View,
    source: Any,
    connection: duckdb.DuckDBPyConnection | None = None,
    *,
    typed: bool = True,
) -> list[dict[str, Any]]:
    """The rows of ``view`` computed by DuckDB.

    ``typed``: read the elements the view uses into typed columns when every path allows it
    (data that does not fit the R4 types falls back to SQL over JSON text)."""
    connection = connection or duckdb.connect()
    relation = f"(SELECT t.resource FROM {source_relation(connection, source, view.resource)})"
    if typed:
        try:
            plan = compile_typed_view(view, ndjson_sources(source, view.resource), relation)
            return _execute(connection, plan)
        except (NotCompilable, duckdb.Error):
            pass  # outside the typed subset, or data that does not fit the R4 types
    try:
        return _execute(connection, compile_view(view, "duckdb", relation))
    except duckdb.Error as error:
        raise Invalid(f"the view failed on DuckDB: {error}") from error


def _execute(connection: duckdb.DuckDBPyConnection, plan: CompiledView) -> list[Json]:
    return list(_rows(plan, connection.execute(plan.sql).fetchall()))


def compile_for_duckdb(
    view: View, connection: duckdb.DuckDBPyConnection, source: Any
) -> CompiledView:
    """Typed SQL when every path of the view has a typed form, else SQL over JSON text."""
    relation = f"(SELECT t.resource FROM {source_relation(connection, source, view.resource)})"
    try:
        return compile_typed_view(view, ndjson_sources(source, view.resource), relation)
    except NotCompilable:
        return compile_view(view, "duckdb", relation)


def ndjson_sources(source: Any, resource_type: str) -> list[Path] | None:
    """The NDJSON files of a file or folder source, else None."""
    if not isinstance(source, (str, Path)) or is_store(source):
        return None
    path = Path(source)
    if parquet_files(path):
        return None
    return ndjson_files(path, resource_type) if path.is_dir() else [path]


def _rows(compiled: CompiledView, records: Iterable[tuple[Any, ...]]) -> Iterator[Json]:
    decoders = [_decoder(column.kind) for column in compiled.columns]
    names = [column.name for column in compiled.columns]
    for record in records:
        yield {
            name: decode(cell) for name, decode, cell in zip(names, decoders, record, strict=True)
        }


def _decoder(kind: str) -> Any:
    if kind == "value":
        return lambda cell: cell
    return lambda cell: None if cell is None else orjson.loads(cell)
