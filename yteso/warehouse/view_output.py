"""Write a view's rows as CSV, NDJSON or Parquet: what ``yteso view run`` does.

https://sql-on-fhir.org/ig/latest/ (views are flat tables). In CSV, cells holding collections
or objects are written as JSON text; NDJSON keeps them as JSON; Parquet infers column types
from the values (pyarrow).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.warehouse.run_views import run_view
from yteso.warehouse.view_definition import read_view

FORMATS = ("csv", "duckdb", "ndjson", "parquet")


def output_format(out: Path, format: str | None) -> str:
    """The format asked for, else the one the file suffix names."""
    suffixes = {".csv": "csv", ".parquet": "parquet", ".duckdb": "duckdb"}
    chosen = format or suffixes.get(out.suffix, "ndjson")
    if chosen not in FORMATS:
        raise Invalid(f"unknown output format {chosen}; one of {', '.join(FORMATS)}")
    return chosen


def write_rows(rows: list[Json], columns: list[str], out: Path, format: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "ndjson":
        with out.open("wb") as lines:
            for row in rows:
                lines.write(orjson.dumps(row) + b"\n")
    elif format == "csv":
        with out.open("w", encoding="utf-8", newline="") as table:
            writer = csv.writer(table)
            writer.writerow(columns)
            writer.writerows([_csv_cell(row.get(name)) for name in columns] for row in rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        data = {name: [row.get(name) for row in rows] for name in columns}
        pq.write_table(pa.table(data), out)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def run_view_to_file(
    view: Json | Path,
    source: Any,
    out: Path,
    *,
    format: str | None = None,
    engine: str | None = None,
) -> int:
    """Run ``view`` (a ViewDefinition or a JSON file of one) over ``source`` into ``out``.

    Returns the number of rows written. ``source`` is what :func:`run_view` takes (a folder or
    file path, a PostgreSQL URL); ``format`` is csv, ndjson or parquet (default: from the
    suffix of ``out``, else ndjson) or duckdb (a table named after the view in the DuckDB
    database file ``out``, made by DuckDB itself when the view compiles for it).
    """
    definition: Json = orjson.loads(Path(view).read_bytes()) if isinstance(view, Path) else view
    chosen = output_format(out, format)
    if chosen == "duckdb" and engine in (None, "duckdb"):
        return materialise_view(definition, source, out)
    rows = run_view(definition, source, engine=engine)
    write_rows(rows, read_view(definition).column_names(), out, chosen)
    return len(rows)


def materialise_view(view: Json, source: Any, database: Path, table: str | None = None) -> int:
    """``CREATE OR REPLACE TABLE`` the view in the DuckDB database file ``database``.

    The table is named ``table``, else the view's ``name`` (else ``view``); the rows never pass
    through Python. Returns the row count."""
    import duckdb

    from yteso.warehouse.duckdb_views import compile_for_duckdb

    checked = read_view(view)
    name = table or str(view.get("name") or "view")
    if not name.replace("_", "a").isalnum():
        raise Invalid(f"{name!r} is not a table name (letters, digits, _)")
    database.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database)) as connection:
        plan = compile_for_duckdb(checked, connection, source)
        try:
            connection.execute(f'CREATE OR REPLACE TABLE "{name}" AS {plan.sql}')
        except duckdb.Error as error:
            raise Invalid(f"the view failed on DuckDB: {error}") from error
        count = connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()
    return int(count[0]) if count else 0
