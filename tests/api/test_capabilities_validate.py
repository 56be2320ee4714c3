"""``/metadata`` and ``$validate`` — https://hl7.org/fhir/R4/http.html#capabilities,
https://hl7.org/fhir/R4/resource-operation-validate.html"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.fhir_client import FHIR_JSON, FhirClient, create, patient
from yteso.api import OPEN_ACCESS_FOR_TESTS, FhirResponse, Operation, create_fhir_app
from yteso.fhir.definitions import resource_types
from yteso.store import open_store
from yteso.store.validation_gate import resource_issues


def test_capability_statement_says_what_is_supported(fhir: FhirClient) -> None:
    response = fhir.get("/fhir/metadata")
    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert set(by_type) == resource_types() - {"SubscriptionStatus"}  # not an R4 4.0.1 type
    assert [i for i in resource_issues(statement) if i.severity in ("error", "fatal")] == []
    patient_caps = by_type["Patient"]
    interactions = {i["code"] for i in patient_caps["interaction"]}
    assert {"read", "vread", "update", "patch", "delete", "create", "search-type"} <= interactions
    names = {p["name"] for p in patient_caps["searchParam"]}
    assert {"_id", "_lastUpdated", "name", "birthdate", "identifier", "_tag", "_content"} <= names
    assert not names & {"_include", "_revinclude", "_has", "code"}
    assert {"name": "validate", "definition": patient_caps["operation"][0]["definition"]} in (
        patient_caps["operation"]
    )
    assert {i["code"] for i in rest["interaction"]} >= {"transaction", "batch"}


def test_a_declared_operation_is_served_and_listed(store_url: str) -> None:
    def everything(ctx: Any, request: Any) -> FhirResponse:
        return FhirResponse(200, resource={"resourceType": "Parameters", "id": request.id})

    operation = Operation(
        name="everything",
        definition="http://hl7.org/fhir/OperationDefinition/Patient-everything",
        handler=everything,
        instance=True,
        resource_types=frozenset({"Patient"}),
        methods=frozenset({"GET"}),
    )
    store = open_store(store_url)
    try:
        with FhirClient(
            create_fhir_app(store, access=OPEN_ACCESS_FOR_TESTS, operations=[operation])
        ) as client:
            assert client.get("/fhir/Patient/7/$everything").json()["id"] == "7"
            assert client.get("/fhir/Observation/7/$everything").status_code == 404
            assert client.post("/fhir/Patient/7/$everything").status_code == 405
            statement = client.get("/fhir/metadata").json()
            by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
            assert "everything" in {o["name"] for o in by_type["Patient"]["operation"]}
            assert "everything" not in {o["name"] for o in by_type["Observation"]["operation"]}
    finally:
        store.close()


NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">An</div>'}
CLEAN = patient(text=NARRATIVE)  # dom-6 warns about a resource without narrative


def _parameters(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": resource}]}


@pytest.mark.parametrize(
    ("body", "clean"),
    [
        (CLEAN, True),
        (_parameters(CLEAN), True),
        (patient(birthDate="yesterday"), False),
        (_parameters(patient(gender="unknown-gender")), False),
        ({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}, False),
    ],
)
def test_type_validate(fhir: FhirClient, body: dict[str, Any], clean: bool) -> None:
    response = fhir.post("/fhir/Patient/$validate", json=body, headers=FHIR_JSON)
    assert response.status_code == 200
    issues = response.json()["issue"]
    if clean:
        assert issues == [
            {"severity": "information", "code": "informational", "diagnostics": "All OK"}
        ]
    else:
        assert any(i["severity"] == "error" and i.get("expression") for i in issues)
    assert fhir.get("/fhir/Patient?_summary=count").json()["total"] == 0  # nothing stored


def test_instance_validate(fhir: FhirClient) -> None:
    created = create(fhir, CLEAN)
    stored = fhir.get(f"/fhir/Patient/{created['id']}/$validate")
    assert stored.json()["issue"][0]["diagnostics"] == "All OK"
    changed = {**created, "birthDate": "1990-13-40"}
    posted = fhir.post(f"/fhir/Patient/{created['id']}/$validate", json=changed, headers=FHIR_JSON)
    assert any(i["severity"] == "error" for i in posted.json()["issue"])
    assert fhir.get("/fhir/Patient/missing/$validate").status_code == 404


def test_what_the_api_answers_is_valid_fhir(fhir: FhirClient) -> None:
    created = create(fhir, CLEAN)
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:a",
                "resource": CLEAN,
                "request": {"method": "POST", "url": "Patient"},
            },
            {"request": {"method": "GET", "url": f"Patient/{created['id']}"}},
        ],
    }
    batch = {**transaction, "type": "batch"}
    answers = [
        fhir.get("/fhir/metadata"),
        fhir.get("/fhir/Patient", params={"unknown": "1", "_count": "1"}),
        fhir.get("/fhir/Patient", params={"_summary": "count"}),
        fhir.get("/fhir/Patient", params={"_summary": "true"}),
        fhir.get("/fhir/_history"),
        fhir.get(f"/fhir/Patient/{created['id']}", params={"_elements": "gender"}),
        fhir.post("/fhir", json=transaction, headers=FHIR_JSON),
        fhir.post("/fhir", json=batch, headers=FHIR_JSON),
        fhir.get("/fhir/Patient/missing"),
        fhir.post("/fhir/Patient/$validate", json=CLEAN, headers=FHIR_JSON),
    ]
    for answer in answers:
        errors = [i for i in resource_issues(answer.json()) if i.severity in ("error", "fatal")]
        assert errors == [], (answer.request.url, errors)
