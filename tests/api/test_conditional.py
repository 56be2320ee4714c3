"""Conditional create/update/delete and PATCH — https://hl7.org/fhir/R4/http.html#cond-update"""

from __future__ import annotations

import base64

import orjson
import pytest

from tests.api.fhir_client import FHIR_JSON, FhirClient, create, patient

JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def test_conditional_create(fhir: FhirClient) -> None:
    existing = create(fhir, patient())
    found = fhir.post(
        "/fhir/Patient",
        json=patient(gender="male"),
        headers={**FHIR_JSON, "If-None-Exist": f"_id={existing['id']}"},
    )
    assert found.status_code == 200
    assert found.json()["id"] == existing["id"]
    assert "gender" not in found.json()
    fresh = fhir.post(
        "/fhir/Patient", json=patient(), headers={**FHIR_JSON, "If-None-Exist": "_id=nobody"}
    )
    assert fresh.status_code == 201
    second = create(fhir, patient())
    several = fhir.post(
        "/fhir/Patient",
        json=patient(),
        headers={**FHIR_JSON, "If-None-Exist": f"_id={existing['id']},{second['id']}"},
    )
    assert several.status_code == 412
    unknown = fhir.post(
        "/fhir/Patient", json=patient(), headers={**FHIR_JSON, "If-None-Exist": "nonsense=1"}
    )
    assert unknown.status_code == 400


def test_conditional_update(fhir: FhirClient) -> None:
    existing = create(fhir, patient())
    updated = fhir.put(
        f"/fhir/Patient?_id={existing['id']}", json=patient(gender="other"), headers=FHIR_JSON
    )
    assert updated.status_code == 200
    assert updated.json()["id"] == existing["id"]
    assert updated.headers["ETag"] == 'W/"2"'
    created = fhir.put("/fhir/Patient?_id=none-such", json=patient(), headers=FHIR_JSON)
    assert created.status_code == 201
    wrong_id = fhir.put(
        f"/fhir/Patient?_id={existing['id']}", json=patient(id="other"), headers=FHIR_JSON
    )
    assert wrong_id.status_code == 400
    several = fhir.put(
        f"/fhir/Patient?_id={existing['id']},{created.json()['id']}",
        json=patient(),
        headers=FHIR_JSON,
    )
    assert several.status_code == 412


def test_conditional_delete(fhir: FhirClient) -> None:
    first, second = create(fhir, patient()), create(fhir, patient())
    several = fhir.delete(f"/fhir/Patient?_id={first['id']},{second['id']}")
    assert several.status_code == 412
    assert fhir.delete(f"/fhir/Patient?_id={first['id']}").status_code == 204
    assert fhir.get(f"/fhir/Patient/{first['id']}").status_code == 410
    assert fhir.delete("/fhir/Patient?_id=nobody").status_code == 204
    assert fhir.get(f"/fhir/Patient/{second['id']}").status_code == 200


@pytest.mark.parametrize(
    ("operations", "status", "gender"),
    [
        ([{"op": "add", "path": "/gender", "value": "female"}], 200, "female"),
        ([{"op": "test", "path": "/birthDate", "value": "1800-01-01"}], 422, None),
        ([{"op": "remove", "path": "/nothing"}], 422, None),
        ([{"op": "replace", "path": "/id", "value": "x"}], 422, None),
        ([{"op": "add", "path": "/gender", "value": "not-a-gender"}], 400, None),
        ([{"op": "jump"}], 400, None),
        ({"op": "add"}, 400, None),
    ],
)
def test_json_patch(fhir: FhirClient, operations: object, status: int, gender: str | None) -> None:
    created = create(fhir, patient())
    url = f"/fhir/Patient/{created['id']}"
    response = fhir.patch(url, content=orjson.dumps(operations), headers=JSON_PATCH)
    assert response.status_code == status, response.text
    assert fhir.get(url).json().get("gender") == gender


@pytest.mark.parametrize(("if_match", "status"), [('W/"1"', 200), ('W/"2"', 412)])
def test_version_aware_patch(fhir: FhirClient, if_match: str, status: int) -> None:
    created = create(fhir, patient())
    patch = [{"op": "add", "path": "/active", "value": True}]
    response = fhir.patch(
        f"/fhir/Patient/{created['id']}",
        content=orjson.dumps(patch),
        headers={**JSON_PATCH, "If-Match": if_match},
    )
    assert response.status_code == status


def test_patch_needs_a_patch_media_type_and_an_existing_resource(fhir: FhirClient) -> None:
    created = create(fhir, patient())
    patch = orjson.dumps([{"op": "add", "path": "/active", "value": True}])
    url = f"/fhir/Patient/{created['id']}"
    assert fhir.patch(url, content=patch, headers={"Content-Type": "text/plain"}).status_code == 415
    assert fhir.patch("/fhir/Patient/none", content=patch, headers=JSON_PATCH).status_code == 404
    conditional = fhir.patch(
        f"/fhir/Patient?_id={created['id']}", content=patch, headers=JSON_PATCH
    )
    assert conditional.status_code == 200
    assert conditional.json()["active"] is True


def test_patch_inside_a_transaction_uses_a_binary(fhir: FhirClient) -> None:
    created = create(fhir, patient())
    patch = orjson.dumps([{"op": "add", "path": "/gender", "value": "male"}])
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "application/json-patch+json",
                    "data": base64.b64encode(patch).decode(),
                },
                "request": {"method": "PATCH", "url": f"Patient/{created['id']}"},
            }
        ],
    }
    response = fhir.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert response.json()["entry"][0]["response"]["status"].startswith("200")
    assert fhir.get(f"/fhir/Patient/{created['id']}").json()["gender"] == "male"


def test_fhirpath_patch_applies_and_is_validated(fhir: FhirClient) -> None:
    created = create(fhir, patient())
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "add"},
                    {"name": "path", "valueString": "Patient"},
                    {"name": "name", "valueString": "gender"},
                    {"name": "value", "valueCode": "female"},
                ],
            }
        ],
    }
    url = f"/fhir/Patient/{created['id']}"
    response = fhir.patch(url, json=parameters, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert fhir.get(url).json()["gender"] == "female"
    assert fhir.get(url).json()["meta"]["versionId"] == "2"
    invalid = dict(parameters)
    invalid["parameter"] = [
        {
            "name": "operation",
            "part": [
                {"name": "type", "valueCode": "replace"},
                {"name": "path", "valueString": "Patient.gender"},
                {"name": "value", "valueCode": "not-a-gender"},
            ],
        }
    ]
    rejected = fhir.patch(url, json=invalid, headers=FHIR_JSON)
    assert rejected.status_code in (400, 422), rejected.text
    assert "Patient.gender" in rejected.text
    assert fhir.get(url).json()["meta"]["versionId"] == "2"
    not_parameters = fhir.patch(url, json=patient(), headers=FHIR_JSON)
    assert not_parameters.status_code == 400
