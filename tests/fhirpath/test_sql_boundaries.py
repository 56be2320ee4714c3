"""lowBoundary()/highBoundary() compiled to SQL equal the Python engine's, on DuckDB and PostgreSQL.

Every value x precision x side of a table of decimals (JSON numbers, as the engines read them),
dates, dateTimes and times runs through :func:`yteso.fhirpath.sql_boundaries.boundary_sql`
and through the FHIRPath evaluator on the same resource.
"""

from __future__ import annotations

from typing import Any

import duckdb
import orjson
import psycopg
import pytest
import sqlglot
from sqlglot import exp

from yteso.fhirpath import evaluate
from yteso.fhirpath.sql import NotCompilable
from yteso.fhirpath.sql_boundaries import boundary_sql

NUMBERS = [1.0, 1, -1.5, 0.00001, 123.456789012, -0.05, 2500.0, 0.1, 7]
DATES = ["1970", "1970-06", "1970-02", "2000-02", "1900-02", "1970-06-15"]
DATETIMES = [
    "2010",
    "2010-10",
    "2010-10-10",
    "2010-10-10T10:00:00",
    "2010-10-10T10:00:00.5Z",
    "2010-10-10T10:00:00.12345+05:00",
    "2010-10-10T10:00:00-00:00",
]
TIMES = ["12", "12:34", "12:34:00", "12:34:00.5"]
DIGITS = (None, 0, 2, 4, 6, 8, 9, 10, 12, 14, 17)
# (FHIR type, element of an Observation holding it, values)
KINDS = [
    ("decimal", "valueQuantity.value", NUMBERS),
    ("date", None, DATES),
    ("dateTime", "valueDateTime", DATETIMES),
    ("time", "valueTime", TIMES),
]


def _groups() -> list[tuple[str, list[Any], int | None, bool]]:
    return [
        (kind, values, digits, high)
        for kind, _, values in KINDS
        for digits in DIGITS
        for high in (False, True)
        if not (kind == "decimal" and digits is not None and digits > 8)
    ]


def _expected(kind: str, value: Any, digits: int | None, high: bool) -> Any:
    name = ("highBoundary" if high else "lowBoundary") + ("()" if digits is None else f"({digits})")
    if kind == "date":
        found = evaluate({"resourceType": "Patient", "birthDate": value}, f"birthDate.{name}")
    elif kind == "decimal":
        resource = {"resourceType": "Observation", "valueQuantity": {"value": value}}
        found = evaluate(resource, f"value.ofType(Quantity).value.{name}")
    else:
        resource = {"resourceType": "Observation", f"value{kind[0].upper()}{kind[1:]}": value}
        found = evaluate(resource, f"value.ofType({kind}).{name}")
    assert len(found) <= 1
    if not found:
        return None
    return float(found[0]) if kind == "decimal" else str(found[0])


def _query(kind: str, values: list[Any], digits: int | None, high: bool) -> str:
    """One query (DuckDB syntax) giving the boundary of every value, in order."""
    texts = [orjson.dumps(v).decode() if kind == "decimal" else str(v) for v in values]  # JSON text
    rows = ", ".join(f"({i}, {exp.Literal.string(text).sql()})" for i, text in enumerate(texts))
    sql = boundary_sql("x", kind, digits, high=high)
    return f"SELECT {sql} FROM (VALUES {rows}) AS v(i, x) ORDER BY i"


def _run_all(execute: Any) -> list[str]:
    wrong, count = [], 0
    for kind, values, digits, high in _groups():
        got = execute(_query(kind, values, digits, high))
        for value, cell in zip(values, got, strict=True):
            count += 1
            expected = _expected(kind, value, digits, high)
            if cell != expected:
                wrong.append(f"{kind} {value} {digits} high={high}: {cell!r} != {expected!r}")
    assert count > 400
    return wrong


def test_duckdb_boundaries_equal_the_evaluator() -> None:
    connection = duckdb.connect()

    def execute(query: str) -> list[Any]:
        return [row[0] for row in connection.execute(query).fetchall()]

    assert _run_all(execute) == []


def test_postgres_boundaries_equal_the_evaluator(pg_base_url: str) -> None:
    with psycopg.connect(pg_base_url) as connection:

        def execute(query: str) -> list[Any]:
            sql = sqlglot.transpile(query, read="duckdb", write="postgres")[0]
            return [row[0] for row in connection.execute(sql.encode()).fetchall()]

        assert _run_all(execute) == []


def test_unsupported_boundaries_are_not_compiled() -> None:
    with pytest.raises(NotCompilable):
        boundary_sql("x", "decimal", 12, high=False)  # past DECIMAL(38, 18) headroom
    with pytest.raises(NotCompilable):
        boundary_sql("x", "string", None, high=True)
