"""A practitioner's reach through the real auth path, both databases: their facility's patients,
patients in their care, patients who consented; a Consent that denies wins; break-the-glass
reaches everyone for a short time and is flagged in the audit trail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.consents import consent, consent_actor
from tests.api.fhir_client import FhirClient
from tests.api.secured_app import secured_client
from yteso.auth import SecurityServices


def _patient(id: str, **links: object) -> dict[str, object]:
    return {"resourceType": "Patient", "id": id, **links}


def _consent(
    id: str, patient: str, kind: str, actor: str, status: str = "active"
) -> dict[str, object]:
    return consent(id, patient, {"type": kind, "actor": consent_actor(actor)}, status)


SEED = [
    {"resourceType": "Organization", "id": "tram-y-te-1", "name": "Trạm y tế 1"},
    _patient("at-facility", managingOrganization={"reference": "Organization/tram-y-te-1"}),
    _patient("in-care", generalPractitioner=[{"reference": "Practitioner/dr-an"}]),
    _patient("consented"),
    _patient("stranger"),
    _patient("refused", managingOrganization={"reference": "Organization/tram-y-te-1"}),
    _consent("c1", "consented", "permit", "Practitioner/dr-an"),
    _consent("c2", "refused", "deny", "Practitioner/dr-an"),
    _consent("c3", "stranger", "permit", "Practitioner/dr-an", status="inactive"),
    {
        "resourceType": "Observation",
        "id": "stranger-obs",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/stranger"},
    },
]


@pytest.fixture
def doctor(store_url: str, tmp_path: Path) -> Iterator[tuple[FhirClient, SecurityServices, str]]:
    with secured_client(store_url, SEED, tmp_path / "auth") as (client, security):
        token = security.tokens.issue(
            "dr-an",
            "user/*.rs",
            fhir_user="Practitioner/dr-an",
            facility="tram-y-te-1",
            role="practitioner",
        )
        yield client, security, token


@pytest.mark.parametrize(
    ("patient", "status"),
    [
        ("at-facility", 200),
        ("in-care", 200),
        ("consented", 200),
        ("stranger", 404),
        ("refused", 404),
    ],
)
def test_practitioner_reach(
    doctor: tuple[FhirClient, SecurityServices, str], patient: str, status: int
) -> None:
    client, _, token = doctor
    response = client.get(f"/fhir/Patient/{patient}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status


def test_practitioner_search_shows_only_reachable_patients(
    doctor: tuple[FhirClient, SecurityServices, str],
) -> None:
    client, _, token = doctor
    bundle = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"}).json()
    ids = sorted(
        e["resource"]["id"]
        for e in bundle.get("entry", [])
        if e["resource"]["resourceType"] == "Patient"
    )
    assert ids == ["at-facility", "consented", "in-care"]
    assert "total" not in bundle or bundle["total"] == 3
    org = client.get("/fhir/Organization/tram-y-te-1", headers={"Authorization": f"Bearer {token}"})
    assert org.status_code == 200  # not a patient's data


def test_break_the_glass_is_short_lived_and_flagged(
    doctor: tuple[FhirClient, SecurityServices, str],
) -> None:
    client, security, token = doctor
    auth = {"Authorization": f"Bearer {token}"}
    assert (
        client.post("/auth/break-glass", data={"reason": "short"}, headers=auth).status_code == 400
    )
    answer = client.post(
        "/auth/break-glass", data={"reason": "unconscious patient in ER"}, headers=auth
    )
    assert answer.status_code == 200
    emergency = answer.json()["access_token"]
    principal = security.tokens.verify(emergency)
    assert principal.expires_at - int(time.time()) <= 15 * 60
    assert principal.role == "practitioner"  # the role claim survives
    glass = {"Authorization": f"Bearer {emergency}"}
    assert client.get("/fhir/Observation/stranger-obs", headers=glass).status_code == 200
    assert client.get("/fhir/Observation/stranger-obs", headers=auth).status_code == 404
    # an emergency token cannot make another one: 15 minutes cannot be stretched
    chained = client.post(
        "/auth/break-glass", data={"reason": "still in the ER, extend"}, headers=glass
    )
    assert chained.status_code == 403 and "access_token" not in chained.json()
    flagged = [e for e in security.audit.events() if "purposeOfEvent" in e]
    assert [(e["subtype"][0]["code"], e["outcome"]) for e in flagged] == [
        ("break-glass", "4"),  # the refused short reason
        ("break-glass", "0"),
        ("read", "0"),
        ("break-glass", "4"),  # the refused chain
    ]
    assert flagged[2]["purposeOfEvent"][0]["coding"][0]["code"] == "BTG"
