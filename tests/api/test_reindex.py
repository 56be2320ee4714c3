"""Writing a SearchParameter starts a background reindex; ``$reindex`` shows its progress;
the CapabilityStatement lists the custom parameter with its definition."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.api.fhir_client import FHIR_JSON, FhirClient
from tests.store.search_fixtures import ETHNIC, ETHNIC_DEFINITION, ETHNIC_SEARCH_PARAMETER
from yteso.store.custom_params import register

DEFINITION = ETHNIC_DEFINITION
SEARCH_PARAMETER = ETHNIC_SEARCH_PARAMETER


@pytest.fixture(autouse=True)
def no_custom_parameters() -> Iterator[None]:
    yield
    register([])  # the registry is per process: leave none behind for other tests


def _patient(id: str, ethnic: str) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "id": id,
        "extension": [{"url": ETHNIC, "valueCode": ethnic}],
    }


def _status(fhir: FhirClient) -> dict[str, object]:
    response = fhir.get("/fhir/$reindex")
    assert response.status_code == 200
    return {
        p["name"]: next(v for k, v in p.items() if k != "name")
        for p in response.json()["parameter"]
    }


def _ethnic_entries(fhir: FhirClient) -> list[dict[str, object]]:
    statement = fhir.get("/fhir/metadata").json()
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    return [p for p in patient["searchParam"] if p["name"] == "ethnic"]


def test_writing_a_search_parameter_reindexes_in_the_background(fhir: FhirClient) -> None:
    for id, ethnic in (("p1", "kinh"), ("p2", "tay"), ("p3", "kinh")):
        assert (
            fhir.put(
                f"/fhir/Patient/{id}", json=_patient(id, ethnic), headers=FHIR_JSON
            ).status_code
            == 201
        )
    assert _status(fhir)["state"] == "idle"
    assert _ethnic_entries(fhir) == []
    strict = {"Prefer": "handling=strict"}
    assert fhir.get("/fhir/Patient?ethnic=kinh", headers=strict).status_code == 400

    response = fhir.put("/fhir/SearchParameter/ethnic", json=SEARCH_PARAMETER, headers=FHIR_JSON)
    assert response.status_code == 201
    deadline = time.monotonic() + 30
    while (status := _status(fhir))["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status["state"] == "done", status
    assert status["done"] == status["total"] == 4  # three patients and the SearchParameter
    assert status["runs"] == 1

    found = fhir.get("/fhir/Patient?ethnic=kinh", headers=strict).json()
    assert sorted(e["resource"]["id"] for e in found.get("entry", [])) == ["p1", "p3"]
    assert _ethnic_entries(fhir) == [{"name": "ethnic", "definition": DEFINITION, "type": "token"}]


def test_reindex_can_be_started_by_post(fhir: FhirClient) -> None:
    response = fhir.post("/fhir/$reindex", headers=FHIR_JSON)
    assert response.status_code == 202
    deadline = time.monotonic() + 30
    while _status(fhir)["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _status(fhir)["state"] == "done"


def test_another_server_process_serves_the_new_parameter(fhir: FhirClient, store_url: str) -> None:
    """A second server on the same database (another process: its registry starts empty)
    searches, lists and indexes the parameter the first one received, without a restart."""
    from yteso.api import OPEN_ACCESS_FOR_TESTS, create_fhir_app
    from yteso.store import open_store

    other_store = open_store(store_url)
    try:
        with FhirClient(create_fhir_app(other_store, access=OPEN_ACCESS_FOR_TESTS)) as other:
            fhir.put("/fhir/Patient/p1", json=_patient("p1", "kinh"), headers=FHIR_JSON)
            fhir.put("/fhir/SearchParameter/ethnic", json=SEARCH_PARAMETER, headers=FHIR_JSON)
            deadline = time.monotonic() + 30
            while _status(fhir)["state"] == "running" and time.monotonic() < deadline:
                time.sleep(0.05)
            register([])  # what the other process holds: nothing registered
            put = other.put("/fhir/Patient/p2", json=_patient("p2", "kinh"), headers=FHIR_JSON)
            assert put.status_code == 201
            register([])
            strict = {"Prefer": "handling=strict"}
            found = other.get("/fhir/Patient?ethnic=kinh", headers=strict)
            assert found.status_code == 200, found.text
            ids = sorted(e["resource"]["id"] for e in found.json().get("entry", []))
            assert ids == ["p1", "p2"]
            register([])
            assert _ethnic_entries(other) == [
                {"name": "ethnic", "definition": DEFINITION, "type": "token"}
            ]
    finally:
        other_store.close()
