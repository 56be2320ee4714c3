"""Differential: the same views over Synthea data give the same rows on every engine.

The bulk sample (../shared/data/synthea, 10 patients) plus the Observations of a few Synthea
bundles are loaded into a real store on PostgreSQL (through ``load_paths``, validated) and
read as NDJSON by DuckDB and by the Python FHIRPath evaluator; rows compare as multisets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import drop_pg_schema, fresh_pg_url, shared_path
from yteso.store import load_paths, open_store
from yteso.warehouse import read_view, run_duckdb, run_view, sql_compiles, standard_view
from yteso.warehouse.typed_views import compile_typed_view

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
VIEWS: dict[str, dict[str, Any]] = {
    "patient_demographics": standard_view("patient_demographics"),
    "observation": standard_view("observation"),
    "patient_address": {
        "resource": "Patient",
        "select": [
            {"column": [{"name": "id", "path": "getResourceKey()"}]},
            {
                "column": [
                    {
                        "name": "race",
                        "path": f"extension('{US_CORE}us-core-race').extension('ombCategory')"
                        ".value.ofType(Coding).code.first()",
                    },
                    {
                        "name": "ssn",
                        "path": "identifier.where(system = "
                        "'http://hl7.org/fhir/sid/us-ssn').value.first()",
                    },
                    {"name": "deceased", "path": "deceased.exists()", "type": "boolean"},
                ]
            },
            {
                "forEachOrNull": "address",
                "column": [
                    {"name": "city", "path": "city"},
                    {"name": "lines", "path": "line", "collection": True},
                    {"name": "address_index", "path": "%rowIndex", "type": "integer"},
                ],
            },
        ],
    },
    "encounter": {
        "resource": "Encounter",
        "where": [{"path": "status = 'finished'"}],
        "select": [
            {
                "column": [
                    {"name": "id", "path": "getResourceKey()"},
                    {"name": "patient", "path": "subject.getReferenceKey(Patient)"},
                    {"name": "class", "path": "class.code"},
                    {"name": "start", "path": "period.start", "type": "dateTime"},
                    {
                        "name": "snomed",
                        "path": "type.coding.where(system = 'http://snomed.info/sct').code",
                        "collection": True,
                    },
                ]
            }
        ],
    },
    "condition_codes": {
        "resource": "Condition",
        "constant": [{"name": "active", "valueCode": "active"}],
        "select": [
            {"column": [{"name": "id", "path": "getResourceKey()"}]},
            {
                "column": [
                    {
                        "name": "is_active",
                        "path": "clinicalStatus.coding.code.first() = %active",
                        "type": "boolean",
                    },
                    {"name": "onset", "path": "onset.ofType(dateTime)", "type": "dateTime"},
                ]
            },
            {
                "forEach": "code.coding",
                "column": [
                    {"name": "system", "path": "system"},
                    {"name": "code", "path": "code"},
                ],
            },
        ],
    },
    "observation_parts": {
        "resource": "Observation",
        "select": [
            {"column": [{"name": "id", "path": "getResourceKey()"}]},
            {
                "unionAll": [
                    {
                        "column": [
                            {"name": "code", "path": "code.coding.code.first()"},
                            {"name": "value", "path": "value.ofType(Quantity).value"},
                        ]
                    },
                    {
                        "forEach": "component",
                        "column": [
                            {"name": "code", "path": "code.coding.code.first()"},
                            {"name": "value", "path": "value.ofType(Quantity).value"},
                        ],
                    },
                ]
            },
        ],
    },
    "observation_boundaries": {
        "resource": "Observation",
        "select": [
            {
                "column": [
                    {"name": "id", "path": "getResourceKey()"},
                    {"name": "value", "path": "value.ofType(Quantity).value"},
                    {"name": "low", "path": "value.ofType(Quantity).value.lowBoundary()"},
                    {"name": "high", "path": "value.ofType(Quantity).value.highBoundary(2)"},
                    {"name": "from", "path": "effective.ofType(dateTime).lowBoundary()"},
                    {"name": "to", "path": "effective.ofType(dateTime).highBoundary(8)"},
                    {"name": "issued_to", "path": "issued.highBoundary()"},
                ]
            }
        ],
    },
}


@pytest.fixture(scope="module")
def synthea_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = shared_path("data", "synthea")
    folder = tmp_path_factory.mktemp("synthea")
    for path in (root / "smart-sample-bulk-fhir-10-patients").glob("*.000.ndjson"):
        (folder / path.name).write_bytes(path.read_bytes())
    observations = []
    for path in sorted((root / "smart-generated-sample-data-R4").glob("*.json"))[:3]:
        for entry in orjson.loads(path.read_bytes()).get("entry", []):
            if entry["resource"]["resourceType"] == "Observation":
                observations.append(orjson.dumps(entry["resource"]))
    (folder / "Observation.000.ndjson").write_bytes(b"\n".join(observations) + b"\n")
    return folder


@pytest.fixture(scope="module")
def postgres_store(synthea_folder: Path) -> Iterator[str]:
    from tests.conftest import _pg_base_url

    base = _pg_base_url()
    url, schema = fresh_pg_url(base)
    try:
        store = open_store(url)
        report = load_paths(store, [synthea_folder])
        assert not report.failures, report.failures[:3]
        store.close()
        yield url
    finally:
        drop_pg_schema(base, schema)


def _normal(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _multiset(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(
        json.dumps({k: _normal(v) for k, v in row.items()}, sort_keys=True) for row in rows
    )


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_engines_agree(name: str, synthea_folder: Path, postgres_store: str) -> None:
    view = VIEWS[name]
    assert sql_compiles(read_view(view), "duckdb") and sql_compiles(read_view(view), "postgres")
    python_rows = run_view(view, synthea_folder, engine="python")
    duckdb_rows = run_view(view, synthea_folder, engine="duckdb")
    json_rows = run_duckdb(read_view(view), synthea_folder, typed=False)
    postgres_rows = run_view(view, postgres_store)
    assert len(python_rows) > 10  # the view selects real data
    assert _multiset(duckdb_rows) == _multiset(python_rows)
    assert _multiset(json_rows) == _multiset(python_rows)
    assert _multiset(postgres_rows) == _multiset(python_rows)


@pytest.mark.parametrize(
    "name", ["observation", "patient_demographics", "encounter", "observation_boundaries"]
)
def test_shipped_views_take_the_typed_path(name: str) -> None:
    compiled = compile_typed_view(read_view(VIEWS[name]), [Path("Patient.ndjson")])
    assert "read_ndjson" in compiled.sql and "json_extract" not in compiled.sql


@pytest.fixture(scope="module")
def spark() -> Any:
    pytest.importorskip("pyspark")
    from yteso.warehouse.spark_views import local_spark

    session = local_spark()
    session.sparkContext.setLogLevel("ERROR")
    return session


SPARK_VIEWS = sorted(VIEWS)


@pytest.mark.slow
@pytest.mark.parametrize("name", SPARK_VIEWS)
def test_spark_agrees(name: str, synthea_folder: Path, spark: Any) -> None:
    from yteso.warehouse.spark_views import run_spark

    view = VIEWS[name]
    spark_rows = run_spark(read_view(view), synthea_folder, spark)
    python_rows = run_view(view, synthea_folder, engine="python")
    assert len(python_rows) > 10
    assert _multiset(spark_rows) == _multiset(python_rows)


def _item(link: str, depth: int) -> dict[str, Any]:
    """A questionnaire item nested ``depth`` levels, with answers carrying items too."""
    item: dict[str, Any] = {"linkId": link, "text": f"Q {link}"}
    if depth > 1:
        item["item"] = [_item(f"{link}.{i}", depth - 1) for i in (1, 2)]
        item["answer"] = [{"valueString": f"A {link}", "item": [_item(f"{link}.a", depth - 2)]}]
    return item


REPEAT_VIEW = {
    "resource": "QuestionnaireResponse",
    "select": [
        {"column": [{"name": "id", "path": "getResourceKey()"}]},
        {
            "repeat": ["item", "answer.item"],
            "column": [
                {"name": "link", "path": "linkId"},
                {"name": "position", "path": "%rowIndex", "type": "integer"},
            ],
            "select": [
                {
                    "forEachOrNull": "answer",
                    "column": [{"name": "answer", "path": "value.ofType(string)"}],
                }
            ],
        },
    ],
}


@pytest.mark.slow
def test_spark_repeat_follows_the_depth_of_the_data(spark: Any) -> None:
    """repeat on Spark (a bounded fixed point) reaches every level, in pre-order, as Python."""
    from yteso.warehouse.spark_views import run_spark

    resources = [
        {"resourceType": "QuestionnaireResponse", "id": f"qr{depth}", "status": "completed"}
        | ({"item": [_item("1", depth), _item("2", 1)]} if depth else {})
        for depth in (0, 1, 3, 7)
    ]
    spark_rows = run_spark(read_view(REPEAT_VIEW), resources, spark)
    python_rows = run_view(REPEAT_VIEW, resources, engine="python")
    assert max(len(row["link"]) for row in python_rows) >= 13  # 1.1.1.1.1.1.1: seven levels
    assert _multiset(spark_rows) == _multiset(python_rows)


@pytest.mark.parametrize("name", ["observation", "patient_demographics", "encounter"])
def test_shipped_views_take_native_jsonb_on_postgres(name: str) -> None:
    from yteso.warehouse.postgres_paths import compile_postgres_view

    compiled = compile_postgres_view(read_view(VIEWS[name]), "resources")
    columns = compiled.sql.split(" FROM resources")[0]
    assert "->" in columns
    if name != "encounter":  # its snomed column (where() over codings) is the JSON compiler's
        assert "jsonb_path_query_array(jsonb_build_array" not in columns.lower()
