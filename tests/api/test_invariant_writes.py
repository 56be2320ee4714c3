"""Writes that break an R4 invariant are rejected over HTTP, and nothing is stored.

https://hl7.org/fhir/R4/conformance-rules.html#constraints: create, update and PATCH (JSON Patch
and FHIRPath Patch) of a resource breaking ``pat-1``, ``obs-6`` or ``ext-1`` answer 400 with an
OperationOutcome naming the constraint key and the element; the resource's previous version
stays current and its history does not grow. Runs on SQLite and PostgreSQL (``fhir`` fixture).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.fhir_client import FHIR_JSON, FhirClient, create

JSON_PATCH = {"Content-Type": "application/json-patch+json"}


@dataclass(frozen=True)
class Breach:
    key: str
    valid: dict[str, Any]
    breaking: dict[str, Any]  # top-level elements whose addition breaks the invariant
    path: str  # the element the OperationOutcome must name
    fhirpath_patch: dict[str, Any]  # a FHIRPath Patch operation adding the breaking element


def _add(path: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "operation",
        "part": [
            {"name": "type", "valueCode": "add"},
            {"name": "path", "valueString": path},
            {"name": "name", "valueString": name},
            value,
        ],
    }


PATIENT = {"resourceType": "Patient", "birthDate": "1990-05-17", "name": [{"family": "Trần"}]}
OBSERVATION = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
    "valueQuantity": {"value": 72, "unit": "/min"},
}
BREACHES = [
    Breach(
        "pat-1",
        PATIENT,
        {"contact": [{"gender": "female"}]},
        "Patient.contact[0]",
        _add(
            "Patient",
            "contact",
            {"name": "value", "part": [{"name": "gender", "valueCode": "female"}]},
        ),
    ),
    Breach(
        "obs-6",
        OBSERVATION,
        {"dataAbsentReason": {"text": "lost"}},
        "Observation",
        _add(
            "Observation",
            "dataAbsentReason",
            {"name": "value", "valueCodeableConcept": {"text": "lost"}},
        ),
    ),
    Breach(
        "ext-1",
        PATIENT,
        {
            "extension": [
                {
                    "url": "http://example.org/e",
                    "valueString": "a",
                    "extension": [{"url": "b", "valueString": "c"}],
                }
            ]
        },
        "Patient.extension[0]",
        _add(
            "Patient",
            "extension",
            {
                "name": "value",
                "part": [
                    {"name": "url", "valueUri": "http://example.org/e"},
                    {"name": "value", "valueString": "a"},
                    {
                        "name": "extension",
                        "part": [
                            {"name": "url", "valueUri": "b"},
                            {"name": "value", "valueString": "c"},
                        ],
                    },
                ],
            },
        ),
    ),
]


def assert_names_breach(response: Any, breach: Breach) -> None:
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    errors = [issue for issue in outcome["issue"] if issue["severity"] == "error"]
    # the breach and nothing else: the rejected content is exactly the breaking one
    found = [(issue["diagnostics"].split(":")[0], issue.get("expression")) for issue in errors]
    assert found == [(breach.key, [breach.path])], errors


def assert_unchanged(fhir: FhirClient, stored: dict[str, Any]) -> None:
    url = f"/fhir/{stored['resourceType']}/{stored['id']}"
    current = fhir.get(url)
    assert current.status_code == 200
    assert current.json() == stored
    assert current.headers["ETag"] == 'W/"1"'
    history = fhir.get(f"{url}/_history").json()
    assert [entry["request"]["method"] for entry in history["entry"]] == ["POST"]


def _ids(breach: Breach) -> str:
    return breach.key


@pytest.mark.parametrize("breach", BREACHES, ids=_ids)
def test_create_breaking_an_invariant_is_rejected_and_not_stored(
    fhir: FhirClient, breach: Breach
) -> None:
    resource = {**breach.valid, **breach.breaking}
    response = fhir.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert_names_breach(response, breach)
    found = fhir.get(f"/fhir/{resource['resourceType']}").json()
    assert found.get("total", 0) == 0 and not found.get("entry")
    put = fhir.put(
        f"/fhir/{resource['resourceType']}/new1", json={**resource, "id": "new1"}, headers=FHIR_JSON
    )
    assert_names_breach(put, breach)  # update-as-create
    assert fhir.get(f"/fhir/{resource['resourceType']}/new1").status_code == 404


@pytest.mark.parametrize("breach", BREACHES, ids=_ids)
def test_update_breaking_an_invariant_keeps_the_previous_version(
    fhir: FhirClient, breach: Breach
) -> None:
    stored = create(fhir, breach.valid)
    url = f"/fhir/{stored['resourceType']}/{stored['id']}"
    response = fhir.put(url, json={**stored, **breach.breaking}, headers=FHIR_JSON)
    assert_names_breach(response, breach)
    assert_unchanged(fhir, stored)


@pytest.mark.parametrize("breach", BREACHES, ids=_ids)
def test_json_patch_breaking_an_invariant_keeps_the_previous_version(
    fhir: FhirClient, breach: Breach
) -> None:
    stored = create(fhir, breach.valid)
    url = f"/fhir/{stored['resourceType']}/{stored['id']}"
    operations = [
        {"op": "add", "path": f"/{name}", "value": value} for name, value in breach.breaking.items()
    ]
    response = fhir.patch(url, json=operations, headers=JSON_PATCH)
    assert_names_breach(response, breach)
    assert_unchanged(fhir, stored)


@pytest.mark.parametrize("breach", BREACHES, ids=_ids)
def test_fhirpath_patch_breaking_an_invariant_keeps_the_previous_version(
    fhir: FhirClient, breach: Breach
) -> None:
    stored = create(fhir, breach.valid)
    url = f"/fhir/{stored['resourceType']}/{stored['id']}"
    body = {"resourceType": "Parameters", "parameter": [breach.fhirpath_patch]}
    response = fhir.patch(url, json=body, headers=FHIR_JSON)
    assert_names_breach(response, breach)
    assert_unchanged(fhir, stored)


def test_a_valid_patch_still_applies(fhir: FhirClient) -> None:
    """The rejections above are the invariant's doing: the same route accepts a valid change."""
    stored = create(fhir, PATIENT)
    url = f"/fhir/Patient/{stored['id']}"
    operation = _add(
        "Patient",
        "contact",
        {
            "name": "value",
            "part": [
                {"name": "gender", "valueCode": "female"},
                {"name": "name", "part": [{"name": "family", "valueString": "Lê"}]},
            ],
        },
    )
    response = fhir.patch(
        url, json={"resourceType": "Parameters", "parameter": [operation]}, headers=FHIR_JSON
    )
    assert response.status_code == 200, response.text
    assert fhir.get(url).json()["contact"] == [{"gender": "female", "name": {"family": "Lê"}}]
