"""Run compiled views on DuckDB (embedded) over resources, NDJSON files or folders, Parquet.

https://duckdb.org/docs/data/json/overview: NDJSON is read with ``read_json_objects`` (one JSON
value per line); a folder contributes the files named after the view's resource type
(``Patient.ndjson``, ``Patient.000.ndjson.gz``, as Bulk Data ``$export`` writes them) or, when
there are none, every ``*.ndjson`` file. Parquet files hold one ``resource`` JSON text column.
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
from yteso.warehouse.view_sql import CompiledView, compile_view

NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl")


def ndjson_files(folder: Path, resource_type: str) -> list[Path]:
    """The NDJSON files of ``folder`` for ``resource_type`` (all of them if none is named)."""
    found = sorted(p for p in folder.iterdir() if p.name.endswith(NDJSON_SUFFIXES))
    named = [p for p in found if p.name.split(".")[0].split("-")[0] == resource_type]
    return named or found


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def source_relation(connection: duckdb.DuckDBPyConnection, source: Any, resource_type: str) -> str:
    """A relation with one ``resource`` JSON column holding the resources of the type."""
    kind = _literal(resource_type)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.suffix == ".parquet" or (path.is_dir() and any(path.glob("*.parquet"))):
            target = str(path / "*.parquet") if path.is_dir() else str(path)
            rows = (
                f"SELECT CAST(resource AS JSON) AS resource FROM read_parquet({_literal(target)})"
            )
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
    if not isinstance(source, (str, Path)):
        return None
    path = Path(source)
    if path.is_dir():
        if any(path.glob("*.parquet")):
            return None
        return ndjson_files(path, resource_type)
    return None if path.suffix == ".parquet" else [path]


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
