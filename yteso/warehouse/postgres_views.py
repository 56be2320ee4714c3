"""Run compiled views on PostgreSQL, directly over the live store's current resources.

https://www.postgresql.org/docs/current/functions-json.html: the store keeps each current
version as ``resource_current.content`` (JSONB, see docs/dev/storage.md); a view reads the rows
of its resource type that are not deleted. Paths use native ``jsonb`` operators where the R4
cardinalities allow (:mod:`yteso.warehouse.postgres_paths`), cells then come back typed; other
cells come back as ``jsonb`` arrays, unwrapped here.
"""

from __future__ import annotations

from typing import Any

import psycopg

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.warehouse.postgres_paths import compile_postgres_view
from yteso.warehouse.view_definition import View

CURRENT_RESOURCES = (
    "(SELECT content AS resource FROM resource_current "
    "WHERE resource_type = {kind} AND NOT deleted)"
)


def run_postgres(view: View, source: str | psycopg.Connection[Any]) -> list[Json]:
    """The rows of ``view`` over the store at ``source`` (a URL or an open connection)."""
    kind = "'" + view.resource.replace("'", "''") + "'"
    compiled = compile_postgres_view(view, CURRENT_RESOURCES.format(kind=kind))
    if isinstance(source, str):
        with psycopg.connect(source) as connection:
            return _run(connection, compiled.sql, compiled.columns)
    return _run(source, compiled.sql, compiled.columns)


def _run(connection: psycopg.Connection[Any], sql: str, columns: Any) -> list[Json]:
    try:
        with connection.cursor() as cursor:
            records = cursor.execute(sql).fetchall()  # no parameters: a % stays literal
    except psycopg.Error as error:
        connection.rollback()
        raise Invalid(f"the view failed on PostgreSQL: {error}") from error
    rows: list[Json] = []
    for record in records:
        row: Json = {}
        for column, cell in zip(columns, record, strict=True):
            if column.kind == "value":
                row[column.name] = cell
                continue
            items = cell or []
            if column.kind == "list":
                row[column.name] = items
            elif len(items) > 1:
                raise Invalid(f"column {column.name} has several values")
            else:
                row[column.name] = items[0] if items else None
        rows.append(row)
    return rows
