"""batch and transaction Bundles — https://hl7.org/fhir/R4/http.html#transaction"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.fhir_client import FHIR_JSON, FhirClient, create, patient


def bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def post(resource: dict[str, Any], full_url: str | None = None, **request: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"], **request},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def observation(subject: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "heart rate"},
        "subject": {"reference": subject},
        **fields,
    }


def test_transaction_rewrites_urn_references_everywhere(fhir: FhirClient) -> None:
    extension = [{"url": "http://example.org/x", "valueReference": {"reference": "urn:uuid:p1"}}]
    request = bundle(
        "transaction",
        post(observation("urn:uuid:p1", extension=extension), "urn:uuid:o1"),
        post(patient(), "urn:uuid:p1"),
    )
    response = fhir.post("/fhir", json=request, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    obs_entry, patient_entry = result["entry"]  # the request's order, not processing order
    assert patient_entry["response"]["status"] == "201 Created"
    assert patient_entry["response"]["etag"] == 'W/"1"'
    patient_location = patient_entry["response"]["location"]
    patient_id = patient_location.split("/Patient/")[1].split("/")[0]
    stored = fhir.get(obs_entry["response"]["location"]).json()
    assert stored["subject"]["reference"] == f"Patient/{patient_id}"
    assert stored["extension"][0]["valueReference"]["reference"] == f"Patient/{patient_id}"


def test_transaction_is_all_or_nothing(fhir: FhirClient) -> None:
    before = create(fhir, patient())
    request = bundle(
        "transaction",
        post(patient(), "urn:uuid:a"),
        {"request": {"method": "DELETE", "url": f"Patient/{before['id']}"}},
        post(patient(birthDate="not-a-date"), "urn:uuid:b"),
    )
    response = fhir.post("/fhir", json=request, headers=FHIR_JSON)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert any("Bundle.entry[2]" in i.get("expression", []) for i in outcome["issue"])
    assert fhir.get(f"/fhir/Patient/{before['id']}").status_code == 200  # delete rolled back
    history = fhir.get("/fhir/Patient/_history").json()
    assert history["entry"] and len(history["entry"]) == 1  # only the first create


def test_transaction_failure_status_is_the_failing_entrys(fhir: FhirClient) -> None:
    current = create(fhir, patient())
    request = bundle(
        "transaction",
        post(patient(), "urn:uuid:a"),
        {
            "resource": current,
            "request": {"method": "PUT", "url": f"Patient/{current['id']}", "ifMatch": 'W/"7"'},
        },
    )
    assert fhir.post("/fhir", json=request, headers=FHIR_JSON).status_code == 412
    assert len(fhir.get("/fhir/Patient").json()["entry"]) == 1


def test_if_none_exist_and_conditional_references(fhir: FhirClient) -> None:
    existing = create(fhir, patient())
    request = bundle(
        "transaction",
        post(patient(), "urn:uuid:p", ifNoneExist=f"_id={existing['id']}"),
        post(observation("urn:uuid:p")),
        post(observation(f"Patient?_id={existing['id']}")),
    )
    response = fhir.post("/fhir", json=request, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    assert entries[0]["response"]["status"] == "200 OK"
    for entry in entries[1:]:
        stored = fhir.get(entry["response"]["location"]).json()
        assert stored["subject"]["reference"] == f"Patient/{existing['id']}"
    missing = bundle("transaction", post(observation("Patient?_id=nobody")))
    assert fhir.post("/fhir", json=missing, headers=FHIR_JSON).status_code == 412


def test_processing_order_lets_a_get_see_the_writes(fhir: FhirClient) -> None:
    request = bundle(
        "transaction",
        {"request": {"method": "GET", "url": "Patient/fixed"}},
        {"resource": patient(id="fixed"), "request": {"method": "PUT", "url": "Patient/fixed"}},
    )
    response = fhir.post("/fhir", json=request, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    read, put = response.json()["entry"]
    assert put["response"]["status"] == "201 Created"
    assert read["response"]["status"] == "200 OK"
    assert read["resource"]["id"] == "fixed"


@pytest.mark.parametrize(
    "entries",
    [
        [post(patient(), "urn:uuid:same"), post(patient(), "urn:uuid:same")],
        [
            {"resource": patient(id="x"), "request": {"method": "PUT", "url": "Patient/x"}},
            {"resource": patient(id="x"), "request": {"method": "PUT", "url": "Patient/x"}},
        ],
    ],
)
def test_duplicate_resources_are_rejected(fhir: FhirClient, entries: list[dict[str, Any]]) -> None:
    response = fhir.post("/fhir", json=bundle("transaction", *entries), headers=FHIR_JSON)
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "duplicate"
    assert fhir.get("/fhir/Patient?_summary=count").json()["total"] == 0


def test_batch_entries_are_independent(fhir: FhirClient) -> None:
    existing = create(fhir, patient())
    request = bundle(
        "batch",
        post(patient()),
        post(patient(birthDate="nope")),
        {"request": {"method": "GET", "url": f"Patient/{existing['id']}"}},
        {"request": {"method": "GET", "url": "Patient/missing"}},
        {"request": {"method": "DELETE", "url": f"Patient/{existing['id']}"}},
        {"request": {"method": "GET", "url": f"Patient?_id={existing['id']}"}},
    )
    response = fhir.post("/fhir", json=request, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "batch-response"
    statuses = [e["response"]["status"].split()[0] for e in result["entry"]]
    assert statuses == ["201", "400", "200", "404", "204", "200"]
    assert result["entry"][5]["resource"]["type"] == "searchset"
    assert "entry" not in result["entry"][5]["resource"]  # deleted by the entry before it
    assert result["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Bundle", "type": "collection"},
        {"resourceType": "Patient"},
        [],
        bundle("transaction", {"request": {"method": "POST", "url": "Patient"}}),
        bundle("transaction", {"request": {"method": "GET", "url": "Nope/1"}}),
        bundle("transaction", {"request": {"method": "POST", "url": "http://elsewhere/Patient"}}),
    ],
)
def test_malformed_bundles_are_client_errors(fhir: FhirClient, body: object) -> None:
    response = fhir.post("/fhir", json=body, headers=FHIR_JSON)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_conditional_put_gets_its_id_before_references_are_rewritten(fhir: FhirClient) -> None:
    existing = create(fhir, patient())
    request = bundle(
        "transaction",
        post(observation("urn:uuid:new")),
        post(observation("urn:uuid:old")),
        {
            "fullUrl": "urn:uuid:new",
            "resource": patient(gender="male"),
            "request": {"method": "PUT", "url": "Patient?_id=nobody-has-this"},
        },
        {
            "fullUrl": "urn:uuid:old",
            "resource": patient(gender="female"),
            "request": {"method": "PUT", "url": f"Patient?_id={existing['id']}"},
        },
    )
    response = fhir.post("/fhir", json=request, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    assert entries[2]["response"]["status"] == "201 Created"
    assert entries[3]["response"]["status"] == "200 OK"
    for observation_entry, put_entry in ((entries[0], entries[2]), (entries[1], entries[3])):
        stored = fhir.get(observation_entry["response"]["location"]).json()
        put_id = put_entry["resource"]["id"]
        assert stored["subject"]["reference"] == f"Patient/{put_id}"
    assert entries[3]["resource"]["id"] == existing["id"]


def test_batch_resolves_conditional_references_per_entry(fhir: FhirClient) -> None:
    existing = create(fhir, patient())
    request = bundle(
        "batch",
        post(observation(f"Patient?_id={existing['id']}")),
        post(observation("Patient?_id=nobody")),
    )
    entries = fhir.post("/fhir", json=request, headers=FHIR_JSON).json()["entry"]
    assert [e["response"]["status"].split()[0] for e in entries] == ["201", "412"]
    stored = fhir.get(entries[0]["response"]["location"]).json()
    assert stored["subject"]["reference"] == f"Patient/{existing['id']}"


@pytest.mark.parametrize("invalid_at", [None, 0, 3, 5])
def test_runs_of_plain_creates_answer_per_entry(fhir: FhirClient, invalid_at: int | None) -> None:
    # consecutive plain creates are written as one batch; the answer must not show it
    entries = [post(observation("Patient/x", valueString=f"v{n}")) for n in range(6)]
    if invalid_at is not None:
        entries[invalid_at]["resource"]["status"] = "not-a-status"
    response = fhir.post("/fhir", json=bundle("transaction", *entries), headers=FHIR_JSON)
    if invalid_at is not None:
        assert response.status_code == 400
        issues = response.json()["issue"]
        assert any(f"Bundle.entry[{invalid_at}]" in i.get("expression", []) for i in issues)
        assert fhir.get("/fhir/Observation").json().get("entry") is None  # nothing written
        return
    assert response.status_code == 200, response.text
    results = response.json()["entry"]
    locations = {entry["response"]["location"] for entry in results}
    assert len(locations) == 6
    for n, entry in enumerate(results):
        assert entry["response"]["status"] == "201 Created"
        assert entry["resource"]["valueString"] == f"v{n}"
        assert fhir.get(entry["response"]["location"]).json()["valueString"] == f"v{n}"
