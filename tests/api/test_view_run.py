"""Stored ViewDefinitions and ViewDefinition/$run over the live store, on both databases.

https://sql-on-fhir.org/ig/latest/OperationDefinition-ViewDefinitionRun.html: instance and type
level, viewResource / viewReference, _format json|ndjson|csv|parquet, patient, group, _since,
_limit and inline resources; access through the real token path.
"""

from __future__ import annotations

import copy
import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from tests.api.fhir_client import FhirClient
from tests.api.secured_app import secured_client
from tests.api.test_security import SEED
from yteso.api.operations.view_run import VIEW_RUN
from yteso.api.view_definitions import VIEW_PROFILE, to_library
from yteso.auth import SecurityServices
from yteso.store.validation_gate import resource_issues

JSON = {"Content-Type": "application/fhir+json"}
VIEW: dict[str, Any] = {
    "resourceType": "ViewDefinition",
    "id": "obs",
    "name": "observation_codes",
    "status": "active",
    "resource": "Observation",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()"},
                {"name": "patient", "path": "subject.getReferenceKey(Patient)"},
                {"name": "code", "path": "code.text"},
            ]
        }
    ],
}


def _parameters(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parameters)}


@pytest.fixture
def fhir_seed() -> list[dict[str, Any]]:
    return SEED


def _rows(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = orjson.loads(response.content)
    return rows


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(row["id"] for row in rows)


def test_stored_view_round_trip(fhir: FhirClient) -> None:
    created = fhir.put("/fhir/ViewDefinition/obs", json=VIEW, headers=JSON)
    assert created.status_code == 201, created.text
    read = fhir.get("/fhir/ViewDefinition/obs").json()
    assert read["meta"]["versionId"] == "1"
    assert {k: v for k, v in read.items() if k != "meta"} == VIEW
    library = fhir.get("/fhir/Library/obs").json()  # the storage form, searchable as Library
    assert library["name"] == "observation_codes" and library["status"] == "active"
    changed = dict(VIEW, status="retired")
    assert fhir.put("/fhir/ViewDefinition/obs", json=changed, headers=JSON).status_code == 200
    assert fhir.get("/fhir/ViewDefinition/obs").json()["status"] == "retired"
    found = fhir.get("/fhir/ViewDefinition?name=observation_codes").json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["obs"]
    posted = fhir.post("/fhir/ViewDefinition", json={k: v for k, v in VIEW.items() if k != "id"})
    assert posted.status_code == 201 and posted.json()["id"] != "obs"
    assert fhir.delete("/fhir/ViewDefinition/obs").status_code == 204
    assert fhir.get("/fhir/ViewDefinition/obs").status_code == 410
    assert fhir.put("/fhir/ViewDefinition/obs", json=VIEW, headers=JSON).status_code == 201


@pytest.mark.parametrize(
    ("change", "element"),
    [
        ({"select": [{"column": [{"name": "x", "path": "name.("}]}]}, "select[0].column[0].path"),
        ({"resource": "NoSuchType"}, "ViewDefinition.resource"),
        ({"status": "finished"}, "ViewDefinition.status"),
        ({"resourceType": "Library"}, "resourceType"),
    ],
)
def test_bad_view_is_refused_and_nothing_stored(
    fhir: FhirClient, change: dict[str, Any], element: str
) -> None:
    response = fhir.put("/fhir/ViewDefinition/obs", json=VIEW | change, headers=JSON)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(element in path for i in outcome["issue"] for path in i.get("expression", []))
    assert fhir.get("/fhir/ViewDefinition/obs").status_code == 404
    assert fhir.get("/fhir/Library/obs").status_code == 404


def test_a_library_that_is_not_a_view_is_not_overwritten(fhir: FhirClient) -> None:
    library = {"resourceType": "Library", "id": "obs", "status": "active", "type": {"text": "x"}}
    assert fhir.put("/fhir/Library/obs", json=library, headers=JSON).status_code == 201
    assert fhir.put("/fhir/ViewDefinition/obs", json=VIEW, headers=JSON).status_code == 409
    assert fhir.get("/fhir/ViewDefinition/obs").status_code == 404


def test_run_stored_view_in_every_format(fhir: FhirClient) -> None:
    fhir.put("/fhir/ViewDefinition/obs", json=VIEW, headers=JSON)
    rows = _rows(fhir.post("/fhir/ViewDefinition/obs/$run"))
    assert sorted(map(orjson.dumps, rows)) == sorted(
        orjson.dumps({"id": o, "patient": o.split("-")[0], "code": o})
        for o in ("alice-bp", "alice-lab", "bob-bp")
    )
    text = fhir.get("/fhir/ViewDefinition/obs/$run?_format=csv")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(text.text)))
    assert table[0] == ["id", "patient", "code"] and len(table) == 4
    lines = fhir.get("/fhir/ViewDefinition/obs/$run?_format=ndjson").content.splitlines()
    assert sorted(orjson.loads(line)["id"] for line in lines) == _ids(rows)
    parquet = fhir.get("/fhir/ViewDefinition/obs/$run?_format=parquet")
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    assert sorted(pq.read_table(io.BytesIO(parquet.content)).column("id").to_pylist()) == _ids(rows)
    assert fhir.get("/fhir/ViewDefinition/obs/$run?_format=xml").status_code == 406
    by_accept = fhir.get("/fhir/ViewDefinition/obs/$run", headers={"Accept": "text/csv"})
    assert by_accept.status_code == 200 and by_accept.text == text.text
    xml = fhir.get("/fhir/ViewDefinition/obs/$run", headers={"Accept": "text/xml"})
    assert xml.status_code == 406
    assert fhir.get("/fhir/Patient/alice?_format=csv").status_code == 406  # only $run answers CSV


def test_run_type_level_with_parameters(fhir: FhirClient) -> None:
    inline = {k: v for k, v in VIEW.items() if k != "id"}
    by_patient = fhir.post(
        "/fhir/ViewDefinition/$run",
        json=_parameters(
            {"name": "viewResource", "resource": inline},
            {"name": "patient", "valueReference": {"reference": "Patient/alice"}},
        ),
    )
    assert _ids(_rows(by_patient)) == ["alice-bp", "alice-lab"]
    limited = fhir.post(
        "/fhir/ViewDefinition/$run",
        json=_parameters(
            {"name": "viewResource", "resource": inline}, {"name": "_limit", "valueInteger": 1}
        ),
    )
    assert len(_rows(limited)) == 1
    resources = fhir.post(
        "/fhir/ViewDefinition/$run",
        json=_parameters(
            {"name": "viewResource", "resource": inline},
            {"name": "resource", "resource": dict(SEED[2], id="elsewhere")},
        ),
    )
    assert _ids(_rows(resources)) == ["elsewhere"]
    fhir.put("/fhir/ViewDefinition/obs", json=VIEW, headers=JSON)
    referenced = fhir.get("/fhir/ViewDefinition/$run?viewReference=ViewDefinition/obs")
    assert _ids(_rows(referenced)) == ["alice-bp", "alice-lab", "bob-bp"]
    group = {
        "resourceType": "Group",
        "id": "g",
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": "Patient/bob"}}],
    }
    assert fhir.put("/fhir/Group/g", json=group, headers=JSON).status_code == 201
    assert _ids(_rows(fhir.get("/fhir/ViewDefinition/obs/$run?group=g"))) == ["bob-bp"]


def test_run_since(fhir: FhirClient) -> None:
    fhir.put("/fhir/ViewDefinition/obs", json=VIEW, headers=JSON)
    time.sleep(0.01)
    since = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    changed = dict(SEED[3], code={"text": "changed"})
    assert fhir.put("/fhir/Observation/alice-lab", json=changed, headers=JSON).status_code == 200
    rows = _rows(fhir.get("/fhir/ViewDefinition/obs/$run", params={"_since": since}))
    assert rows == [{"id": "alice-lab", "patient": "alice", "code": "changed"}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_parameters(), "one of viewResource and viewReference"),
        (
            _parameters({"name": "viewReference", "valueString": "Patient/alice"}),
            "not a ViewDefinition",
        ),
        (_parameters({"name": "_limit", "valueInteger": 0}), "_limit"),
    ],
)
def test_run_errors_are_operation_outcomes(fhir: FhirClient, body: Any, message: str) -> None:
    body = copy.deepcopy(body)  # the parameter is shared by both databases' runs
    if "_limit" in message:
        body["parameter"].append({"name": "viewReference", "valueString": "ViewDefinition/obs"})
        fhir.put("/fhir/ViewDefinition/obs", json=VIEW, headers=JSON)
    response = fhir.post("/fhir/ViewDefinition/$run", json=body)
    assert response.status_code == 400
    assert message in response.text


def test_capability_statement_lists_views_and_run(fhir: FhirClient) -> None:
    statement = fhir.get("/fhir/metadata").json()
    rest = statement["rest"][0]
    assert "ViewDefinition" not in {r["type"] for r in rest["resource"]}  # not an R4 type
    (logical,) = rest["extension"]
    parts = {
        (p["url"], next(v for k, v in p.items() if k.startswith("value")))
        for p in logical["extension"]
    }
    assert ("type", VIEW_PROFILE) in parts and ("interaction", "read") in parts
    assert ("operation", VIEW_RUN.definition) in parts
    assert [i for i in resource_issues(statement) if i.severity in ("error", "fatal")] == []


@pytest.fixture
def secured(store_url: str, tmp_path: Path) -> Iterator[tuple[FhirClient, SecurityServices]]:
    seed = [*SEED, to_library(VIEW, "obs")]  # the view stored as the API stores it
    with secured_client(store_url, seed, tmp_path / "auth") as secured:
        yield secured


def test_run_rows_only_from_readable_resources(
    secured: tuple[FhirClient, SecurityServices],
) -> None:
    client, security = secured

    def run(scope: str, patient: str | None = None) -> Any:
        token = security.tokens.issue("tester", scope, patient=patient)
        return client.post(
            "/fhir/ViewDefinition/obs/$run", headers={"Authorization": f"Bearer {token}"}
        )

    everything = "system/ViewDefinition.read system/Observation.read"
    assert _ids(_rows(run(everything))) == ["alice-bp", "alice-lab", "bob-bp"]
    own = run("patient/ViewDefinition.read patient/Observation.read", patient="alice")
    assert _ids(_rows(own)) == ["alice-bp", "alice-lab"]
    assert run("system/ViewDefinition.read system/Patient.read").status_code == 403
    assert run("system/Observation.read").status_code == 403  # not the view itself
    assert client.post("/fhir/ViewDefinition/obs/$run").status_code == 401
