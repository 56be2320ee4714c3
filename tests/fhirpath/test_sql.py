"""Differential: FHIRPath compiled to SQL gives, on DuckDB and PostgreSQL, what Python gives.

Over Synthea resources from ../shared/data/synthea (the bulk sample and a few bundles), every
expression of the SQL-on-FHIR subset below runs per resource three ways and must agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from tests.conftest import drop_pg_schema, fresh_pg_url, shared_path
from yteso.fhirpath import compile
from yteso.fhirpath.sql import is_boolean, supported, to_sql

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
EXPRESSIONS: dict[str, list[str]] = {
    "Patient": [
        "Patient.name.given",
        "Patient.name.where(use = 'official').family",
        "Patient.name.family.first()",
        "Patient.gender = 'female'",
        "Patient.birthDate",
        "Patient.birthDate < @1970-01-01",
        "Patient.identifier.where(system = 'http://hl7.org/fhir/sid/us-ssn').value",
        "Patient.address.city.join(', ')",
        f"Patient.extension('{US_CORE}us-core-birthsex').value.ofType(code)",
        "Patient.telecom.where(system = 'phone' and use = 'home').exists()",
        "Patient.deceased.exists()",
        "getResourceKey()",
        "Patient.maritalStatus.coding.code",
        "Patient.name.exists() and Patient.gender.exists()",
        "Patient.name.where(use = 'official').given.exists().not()",
        "Patient.multipleBirth.ofType(boolean) = false",
        "deceased.ofType(dateTime)",
        "gender = %gender and deceased.ofType(boolean) = false",
        "Patient.name[0].family",
        "Patient.name[1].given",
        "name.where(use = %use).family",
        "getResourceKey() = %id",
    ],
    "Encounter": [
        "Encounter.subject.getReferenceKey(Patient)",
        "Encounter.subject.getReferenceKey(Group)",
        "Encounter.period.start",
        "Encounter.class.code",
        "Encounter.type.coding.where(system = 'http://snomed.info/sct').code",
        "Encounter.participant.individual.getReferenceKey()",
    ],
    "Condition": [
        "Condition.code.coding.code",
        "Condition.onset.ofType(dateTime)",
        "Condition.clinicalStatus.coding.code.first() = 'active'",
        "Condition.abatement.exists().not()",
    ],
    "Observation": [
        "Observation.value.ofType(Quantity).value",
        "Observation.value.ofType(Quantity).value > 100",
        "Observation.code.coding.where(system = 'http://loinc.org').code",
        "Observation.component.where(code.coding.code = '8480-6').value.ofType(Quantity).value",
        "Observation.category.coding.code.join('|')",
        "value.ofType(Quantity).value > %threshold",
        "Observation.component[0].value.ofType(Quantity).value"
        " > Observation.component[1].value.ofType(Quantity).value",
        "Observation.code.coding[0].code = Observation.code.coding.code.first()",
        "value.ofType(Quantity).value * 2 - 1",
        "value.ofType(Quantity).value / Observation.component.value.ofType(Quantity).value.first()",
    ],
}
PER_TYPE = 60
CONSTANTS: dict[str, str | int] = {"gender": "female", "use": "official", "threshold": 100}
CONSTANTS["id"] = "5bbf2b0e-c8ad-43d5-9cd7-c4e6a4db1fdb"


def _resources() -> list[dict[str, Any]]:
    root = shared_path("data", "synthea")
    found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in EXPRESSIONS}
    for path in sorted((root / "smart-sample-bulk-fhir-10-patients").glob("*.ndjson")):
        kind = path.name.split(".")[0]
        if kind in found:
            with path.open(encoding="utf-8") as lines:
                first = [line for _, line in zip(range(PER_TYPE), lines, strict=False)]
                found[kind].extend(json.loads(line) for line in first)
    for path in sorted((root / "smart-generated-sample-data-R4").glob("*.json"))[:2]:
        for entry in json.loads(Path(path).read_text(encoding="utf-8")).get("entry", []):
            resource = entry["resource"]
            bucket = found.get(resource["resourceType"])
            if bucket is not None and len(bucket) < PER_TYPE:
                bucket.append(resource)
    return [resource for bucket in found.values() for resource in bucket]


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    loaded = _resources()
    assert {r["resourceType"] for r in loaded} == set(EXPRESSIONS)
    return loaded


def _normal(values: Any) -> str:
    return json.dumps(values, sort_keys=True)


def _python(expression: str, resource: dict[str, Any]) -> Any:
    result = compile(expression)(resource, dict(CONSTANTS))
    if is_boolean(expression):
        return result[0] if result else None
    return _numbers(result)


def _numbers(values: Any) -> Any:
    if isinstance(values, list):
        return [_number(v) for v in values]
    return values


def _number(value: Any) -> Any:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return round(float(value), 9)
    return value


CASES = [
    (kind, expression) for kind, expressions in EXPRESSIONS.items() for expression in expressions
]


@pytest.fixture(scope="module")
def duck(resources: list[dict[str, Any]]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE resources (position INTEGER, resource JSON)")
    connection.executemany(
        "INSERT INTO resources VALUES (?, ?)", [(i, json.dumps(r)) for i, r in enumerate(resources)]
    )
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def postgres(
    resources: list[dict[str, Any]], pg_base_url: str
) -> Iterator[psycopg.Connection[Any]]:
    url, schema = fresh_pg_url(pg_base_url)
    connection = psycopg.connect(url, autocommit=True)
    connection.execute("CREATE TABLE resources (position INTEGER, resource JSONB)")
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO resources VALUES (%s, %s)",
            [(i, json.dumps(r)) for i, r in enumerate(resources)],
        )
    yield connection
    connection.close()
    drop_pg_schema(pg_base_url, schema)


def _expected(resources: list[dict[str, Any]], kind: str, expression: str) -> dict[int, str]:
    return {
        i: _normal(_python(expression, r))
        for i, r in enumerate(resources)
        if r["resourceType"] == kind
    }


@pytest.mark.parametrize(("kind", "expression"), CASES)
def test_duckdb_matches_python(
    duck: duckdb.DuckDBPyConnection, resources: list[dict[str, Any]], kind: str, expression: str
) -> None:
    tree = to_sql(expression, dialect="duckdb", resource_type=kind, constants=CONSTANTS)
    sql = tree.sql("duckdb")
    rows = duck.execute(
        f"SELECT position, {sql} FROM resources WHERE resource ->> '$.resourceType' = ?", [kind]
    ).fetchall()
    got = {
        position: _normal(
            value if not isinstance(value, list) else _numbers([json.loads(v) for v in value])
        )
        for position, value in rows
    }
    assert got == _expected(resources, kind, expression)


@pytest.mark.parametrize(("kind", "expression"), CASES)
def test_postgres_matches_python(
    postgres: psycopg.Connection[Any], resources: list[dict[str, Any]], kind: str, expression: str
) -> None:
    tree = to_sql(expression, dialect="postgres", resource_type=kind, constants=CONSTANTS)
    sql = tree.sql("postgres")
    rows = postgres.execute(
        f"SELECT position, {sql} FROM resources WHERE resource ->> 'resourceType' = %s", [kind]
    ).fetchall()
    got = {position: _normal(_numbers(value)) for position, value in rows}
    assert got == _expected(resources, kind, expression)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("Patient.name.given", True),
        ("Patient.name.given.count()", False),
        ("Patient.name.given | Patient.name.family", False),
        ("Patient.name.select(given)", False),
        ("Patient.birthDate + 1 year", False),
    ],
)
def test_supported_subset(expression: str, expected: bool) -> None:
    assert supported(expression, "Patient") is expected
