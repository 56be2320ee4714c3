"""The official SQL-on-FHIR v2 test suite on every engine.

https://github.com/FHIR/sql-on-fhir-v2/tree/master/tests: each case is a view over the file's
resources with the expected rows (compared as a multiset: the spec does not order rows), the
expected column order, or an expected error.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import psycopg
import pytest

from tests.conftest import REPO, SHARED, drop_pg_schema, fresh_pg_url, shared_path
from yteso.fhir.errors import FhirError
from yteso.fhirpath.sql import NotCompilable
from yteso.warehouse import PythonViewRunner, read_view, run_duckdb, run_postgres

SUITE = SHARED / "suites" / "sql-on-fhir-v2" / "tests"
# The store's resource tables as migrations 0001 and 0016 leave them (bodies in the history,
# JSONB copies in resource_json, filled by run_postgres).
STORE_SCHEMA = [
    REPO / "yteso" / "store" / "postgres" / "migrations" / name
    for name in ("0001_resources.sql", "0016_resource_json.sql")
]
# Cases the SQL compilers do not cover (none since boundaries and Spark repeat were compiled);
# a case listed here must still fail to compile, else it must pass.
NOT_COMPILED: dict[str, str] = {}
SPARK_NOT_COMPILED: dict[str, str] = {**NOT_COMPILED}


def _cases() -> list[Any]:
    cases = []
    for path in sorted(SUITE.glob("*.json")):
        # parse floats like the engines see NDJSON (orjson), keeping 1.0 a float
        suite = orjson.loads(path.read_bytes())
        for case in suite["tests"]:
            cases.append(pytest.param(suite["resources"], case, id=f"{path.stem}:{case['title']}"))
    return cases


def _normal(value: Any) -> Any:
    """1.0 and 1 are the same JSON number (as in the spec's JavaScript runner)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normal(item) for item in value]
    return value


def _key(row: dict[str, Any]) -> str:
    return json.dumps({name: _normal(value) for name, value in row.items()}, sort_keys=True)


def run_python(view: dict[str, Any], resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(PythonViewRunner(read_view(view)).rows(resources))


def check(case: dict[str, Any], run: Any) -> None:
    if case.get("expectError"):
        with pytest.raises(FhirError):
            run()
        return
    rows = run()
    if "expectColumns" in case:
        assert [list(row) for row in rows][:1] in ([case["expectColumns"]], [])
        assert all(list(row) == case["expectColumns"] for row in rows)
        return
    assert sorted(map(_key, rows)) == sorted(map(_key, case["expect"]))


@pytest.mark.parametrize(("resources", "case"), _cases())
def test_python_engine(resources: list[dict[str, Any]], case: dict[str, Any]) -> None:
    shared_path("suites", "sql-on-fhir-v2")
    check(case, lambda: run_python(case["view"], resources))


def _sql(run: Any, view: dict[str, Any], case_id: str) -> list[dict[str, Any]]:
    checked = read_view(view)
    if case_id in NOT_COMPILED:
        with pytest.raises(NotCompilable):  # the day it compiles, this case must pass instead
            run(checked)
        pytest.xfail(NOT_COMPILED[case_id])
    return list(run(checked))


def _store_like(connection: psycopg.Connection[Any], resources: list[dict[str, Any]]) -> None:
    """The store's own PostgreSQL schema, its resource tables filled with the suite resources."""
    for migration in STORE_SCHEMA:
        connection.execute(migration.read_text(encoding="utf-8").encode())
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO resource_history (resource_type, id, version, last_updated, method, body)"
            " VALUES (%s, %s, 1, now(), 'POST', %s)",
            [
                (r["resourceType"], r.get("id", str(i)), orjson.dumps(r).decode())
                for i, r in enumerate(resources)
            ],
        )
        cursor.execute(
            "INSERT INTO resource_current (resource_type, id, version, seq, last_updated)"
            " SELECT resource_type, id, version, seq, last_updated FROM resource_history"
        )


@pytest.mark.parametrize(("resources", "case"), _cases())
def test_duckdb_engine(
    resources: list[dict[str, Any]], case: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    shared_path("suites", "sql-on-fhir-v2")
    case_id = request.node.callspec.id
    check(case, lambda: _sql(lambda view: run_duckdb(view, resources), case["view"], case_id))


@pytest.mark.parametrize(("resources", "case"), _cases())
def test_duckdb_json_engine(
    resources: list[dict[str, Any]], case: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """DuckDB through the JSON-text compiler only (the fallback of the typed one)."""
    shared_path("suites", "sql-on-fhir-v2")
    case_id = request.node.callspec.id
    run = lambda view: run_duckdb(view, resources, typed=False)  # noqa: E731
    check(case, lambda: _sql(run, case["view"], case_id))


@pytest.fixture(scope="session")
def spark() -> Any:
    pytest.importorskip("pyspark")
    from yteso.warehouse.spark_views import local_spark

    session = local_spark()
    session.sparkContext.setLogLevel("ERROR")
    # tiny inputs: compiling Java code per query costs more than it saves
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    session.conf.set("spark.sql.adaptive.enabled", "false")
    return session


@pytest.mark.slow
@pytest.mark.parametrize(("resources", "case"), _cases())
def test_spark_engine(
    resources: list[dict[str, Any]],
    case: dict[str, Any],
    spark: Any,
    request: pytest.FixtureRequest,
) -> None:
    from yteso.warehouse.spark_views import run_spark

    shared_path("suites", "sql-on-fhir-v2")
    case_id = request.node.callspec.id
    if case_id in SPARK_NOT_COMPILED:
        with pytest.raises(NotCompilable):
            run_spark(read_view(case["view"]), resources, spark)
        pytest.xfail(SPARK_NOT_COMPILED[case_id])
    check(case, lambda: run_spark(read_view(case["view"]), resources, spark))


@pytest.mark.parametrize(("resources", "case"), _cases())
def test_postgres_engine(
    resources: list[dict[str, Any]],
    case: dict[str, Any],
    pg_base_url: str,
    request: pytest.FixtureRequest,
) -> None:
    shared_path("suites", "sql-on-fhir-v2")
    url, schema = fresh_pg_url(pg_base_url)
    try:
        with psycopg.connect(url) as connection:
            _store_like(connection, resources)
            run = lambda view: run_postgres(view, connection)  # noqa: E731
            check(case, lambda: _sql(run, case["view"], request.node.callspec.id))
    finally:
        drop_pg_schema(pg_base_url, schema)
