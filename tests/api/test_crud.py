"""create, read, vread, update, delete with their headers — https://hl7.org/fhir/R4/http.html"""

from __future__ import annotations

import pytest

from tests.api.fhir_client import FHIR_JSON, FhirClient, create, patient


def test_create_then_read_serves_the_stored_bytes(fhir: FhirClient) -> None:
    response = fhir.post("/fhir/Patient", json=patient(id="ignored"), headers=FHIR_JSON)
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "ignored"
    assert body["meta"]["versionId"] == "1"
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"] == f"http://testserver/fhir/Patient/{body['id']}/_history/1"
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    read = fhir.get(f"/fhir/Patient/{body['id']}")
    assert read.status_code == 200
    assert read.content == response.content
    assert read.headers["ETag"] == 'W/"1"'
    assert read.headers["Last-Modified"].endswith("GMT")


def test_update_versions_and_vread(fhir: FhirClient) -> None:
    created = create(fhir, patient())
    url = f"/fhir/Patient/{created['id']}"
    updated = fhir.put(url, json={**created, "gender": "female"}, headers=FHIR_JSON)
    assert updated.status_code == 200
    assert updated.headers["ETag"] == 'W/"2"'
    first = fhir.get(f"{url}/_history/1")
    assert first.status_code == 200
    assert "gender" not in first.json()
    assert fhir.get(f"{url}/_history/2").json()["gender"] == "female"
    assert fhir.get(f"{url}/_history/3").status_code == 404


@pytest.mark.parametrize(
    ("if_match", "status"),
    [('W/"1"', 200), ('W/"2"', 412), ('"1"', 200), ("garbage", 400)],
)
def test_version_aware_update(fhir: FhirClient, if_match: str, status: int) -> None:
    created = create(fhir, patient())
    response = fhir.put(
        f"/fhir/Patient/{created['id']}",
        json={**created, "gender": "male"},
        headers={**FHIR_JSON, "If-Match": if_match},
    )
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+json")


def test_update_as_create_and_id_mismatch(fhir: FhirClient) -> None:
    response = fhir.put("/fhir/Patient/abc", json=patient(id="abc"), headers=FHIR_JSON)
    assert response.status_code == 201
    assert response.headers["Location"].endswith("/Patient/abc/_history/1")
    mismatch = fhir.put("/fhir/Patient/abc", json=patient(id="xyz"), headers=FHIR_JSON)
    assert mismatch.status_code == 400
    assert mismatch.json()["resourceType"] == "OperationOutcome"
    no_id = fhir.put("/fhir/Patient/abc", json=patient(), headers=FHIR_JSON)
    assert no_id.status_code == 400


def test_delete_then_gone_then_recreate(fhir: FhirClient) -> None:
    created = create(fhir, patient())
    url = f"/fhir/Patient/{created['id']}"
    assert fhir.delete(url).status_code == 204
    gone = fhir.get(url)
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"
    assert fhir.get(f"{url}/_history/2").status_code == 410
    assert fhir.get(f"{url}/_history/1").status_code == 200
    outcome = fhir.delete(url, headers={"Prefer": "return=OperationOutcome"})
    assert outcome.status_code == 200
    assert outcome.json()["resourceType"] == "OperationOutcome"
    again = fhir.put(url, json=created, headers=FHIR_JSON)
    assert again.status_code == 201
    assert again.headers["ETag"] == 'W/"3"'


@pytest.mark.parametrize(("if_match", "status"), [('W/"1"', 204), ('W/"9"', 412)])
def test_version_aware_delete(fhir: FhirClient, if_match: str, status: int) -> None:
    created = create(fhir, patient())
    response = fhir.delete(f"/fhir/Patient/{created['id']}", headers={"If-Match": if_match})
    assert response.status_code == status


@pytest.mark.parametrize(
    ("prefer", "expected_type"),
    [
        ("return=minimal", None),
        ("return=representation", "Patient"),
        ("return=OperationOutcome", "OperationOutcome"),
        (None, "Patient"),
    ],
)
def test_prefer_return(fhir: FhirClient, prefer: str | None, expected_type: str | None) -> None:
    headers = {**FHIR_JSON, **({"Prefer": prefer} if prefer else {})}
    response = fhir.post("/fhir/Patient", json=patient(), headers=headers)
    assert response.status_code == 201
    assert response.headers["Location"]
    if expected_type is None:
        assert response.content == b""
    else:
        assert response.json()["resourceType"] == expected_type


def test_conditional_read(fhir: FhirClient) -> None:
    created = create(fhir, patient())
    url = f"/fhir/Patient/{created['id']}"
    last_modified = fhir.get(url).headers["Last-Modified"]
    cases = [
        ({"If-None-Match": 'W/"1"'}, 304),
        ({"If-None-Match": 'W/"2"'}, 200),
        ({"If-Modified-Since": last_modified}, 304),
        ({"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 200),
        ({"If-Modified-Since": "not a date"}, 200),
    ]
    for headers, status in cases:
        assert fhir.get(url, headers=headers).status_code == status, headers


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("_summary=true", {"id", "meta", "birthDate", "name"}, {"text", "photo"}),
        ("_summary=text", {"id", "meta", "text"}, {"birthDate", "name"}),
        ("_summary=data", {"birthDate", "photo"}, {"text"}),
        ("_elements=birthDate", {"id", "meta", "birthDate"}, {"name", "text", "photo"}),
        ("_summary=false", {"text", "photo", "name"}, set()),
    ],
)
def test_summary_and_elements_on_read(
    fhir: FhirClient, query: str, present: set[str], absent: set[str]
) -> None:
    text = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">An</div>'}
    created = create(
        fhir, patient(text=text, name=[{"family": "Le"}], photo=[{"contentType": "image/png"}])
    )
    body = fhir.get(f"/fhir/Patient/{created['id']}?{query}").json()
    assert present <= set(body)
    assert not absent & set(body)


def test_pretty(fhir: FhirClient) -> None:
    created = create(fhir, patient())
    pretty = fhir.get(f"/fhir/Patient/{created['id']}?_pretty=true")
    assert b"\n  " in pretty.content
    assert pretty.json() == created
