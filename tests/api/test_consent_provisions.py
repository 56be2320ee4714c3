"""Consent provisions and security labels through the real auth path, both databases.

A practitioner of facility ``tram`` reaches every patient the facility manages, until a
Consent or a label says otherwise: provisions are checked for actor, period, purpose, action,
class (resource type), securityLabel and data; restricted resources (v3 Confidentiality R/V)
need an explicit permit. Every refusal looks like a resource that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.consents import consent, consent_actor
from tests.api.fhir_client import FhirClient
from tests.api.secured_app import secured_client
from yteso.auth import SecurityServices

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ME = "Practitioner/dr-an"
FACILITY = "Organization/tram"


def _patient(id: str) -> dict[str, object]:
    return {"resourceType": "Patient", "id": id, "managingOrganization": {"reference": FACILITY}}


def _obs(id: str, patient: str, label: str | None = None) -> dict[str, object]:
    resource: dict[str, object] = {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"text": "heart rate"},
        "subject": {"reference": f"Patient/{patient}"},
    }
    if label:
        resource["meta"] = {"security": [{"system": CONFIDENTIALITY, "code": label}]}
    return resource


def _codes(system: str, *codes: str) -> list[dict[str, str]]:
    return [{"system": system, "code": code} for code in codes]


SEED: list[dict[str, object]] = [
    {"resourceType": "Organization", "id": "tram", "name": "Trạm y tế"},
    # labels: an ordinary and a restricted result of one facility patient
    _patient("lab"),
    _obs("lab-normal", "lab"),
    _obs("lab-restricted", "lab", "R"),
    _obs("lab-very", "lab", "V"),
    # an explicit permit for restricted data, and a general permit that does not open it
    _patient("opened"),
    _obs("opened-restricted", "opened", "R"),
    consent(
        "c-opened",
        "opened",
        {
            "type": "permit",
            "actor": consent_actor(ME),
            "securityLabel": _codes(CONFIDENTIALITY, "R"),
        },
    ),
    _patient("general"),
    _obs("general-restricted", "general", "R"),
    consent("c-general", "general", {"type": "permit", "actor": consent_actor(ME)}),
    # class: everything but Observations
    _patient("classy"),
    _obs("classy-obs", "classy"),
    {
        "resourceType": "Condition",
        "id": "classy-cond",
        "subject": {"reference": "Patient/classy"},
        "code": {"text": "flu"},
    },
    consent(
        "c-classy",
        "classy",
        {
            "type": "permit",
            "actor": consent_actor(ME),
            "provision": [
                {
                    "type": "deny",
                    "class": _codes("http://hl7.org/fhir/resource-types", "Observation"),
                }
            ],
        },
    ),
    # purpose: a research refusal does not stop treatment, a treatment refusal does
    _patient("no-research"),
    consent("c-research", "no-research", {"type": "deny", "purpose": _codes(ACT_REASON, "HRESCH")}),
    _patient("no-treatment"),
    consent("c-treat", "no-treatment", {"type": "deny", "purpose": _codes(ACT_REASON, "TREAT")}),
    # period: an expired refusal, a permit not yet in force for a patient of no facility
    _patient("expired"),
    consent("c-expired", "expired", {"type": "deny", "period": {"end": "2001-01-01"}}),
    {"resourceType": "Patient", "id": "future"},
    consent(
        "c-future",
        "future",
        {"type": "permit", "actor": consent_actor(ME), "period": {"start": "2999"}},
    ),
    # actor: a refusal naming the facility
    _patient("no-facility"),
    consent("c-facility", "no-facility", {"type": "deny", "actor": consent_actor(FACILITY)}),
    # action: reading allowed, correcting refused
    _patient("read-only"),
    _obs("read-only-obs", "read-only"),
    consent(
        "c-action",
        "read-only",
        {
            "type": "deny",
            "action": [
                {"coding": _codes("http://terminology.hl7.org/CodeSystem/consentaction", "correct")}
            ],
        },
    ),
    # data: one named resource refused
    _patient("one-hidden"),
    _obs("hidden-obs", "one-hidden"),
    _obs("shown-obs", "one-hidden"),
    consent(
        "c-data",
        "one-hidden",
        {
            "type": "permit",
            "provision": [
                {
                    "type": "deny",
                    "data": [
                        {
                            "meaning": "instance",
                            "reference": {"reference": "Observation/hidden-obs"},
                        }
                    ],
                }
            ],
        },
    ),
]


class Doctor:
    def __init__(self, client: FhirClient, token: str, security: SecurityServices) -> None:
        self.client = client
        self.token = token
        self.security = security

    def status(self, path: str, token: str | None = None) -> int:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self.client.get(f"/fhir/{path}", headers=headers).status_code

    def search(self, query: str) -> dict[str, object]:
        headers = {"Authorization": f"Bearer {self.token}"}
        bundle: dict[str, object] = self.client.get(f"/fhir/{query}", headers=headers).json()
        return bundle


@pytest.fixture
def doctor(store_url: str, tmp_path: Path) -> Iterator[Doctor]:
    with secured_client(store_url, SEED, tmp_path / "auth") as (client, security):
        token = security.tokens.issue("dr-an", "user/*.cruds", fhir_user=ME, facility="tram")
        yield Doctor(client, token, security)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("Observation/lab-normal", 200),
        ("Observation/lab-restricted", 404),  # R: the facility relationship is not enough
        ("Observation/lab-very", 404),
        ("Observation/opened-restricted", 200),  # a permit naming label R
        ("Patient/general", 200),
        ("Observation/general-restricted", 404),  # a general permit does not open R
        ("Patient/classy", 200),
        ("Condition/classy-cond", 200),
        ("Observation/classy-obs", 404),  # nested deny for the Observation class
        ("Patient/no-research", 200),  # a research refusal: treatment goes on
        ("Patient/no-treatment", 404),
        ("Patient/expired", 200),  # the refusal's period is over
        ("Patient/future", 404),  # the permit's period has not begun
        ("Patient/no-facility", 404),  # a refusal naming the practitioner's facility
        ("Observation/read-only-obs", 200),  # refusal for the action 'correct' only
        ("Observation/hidden-obs", 404),  # refusal naming that resource
        ("Observation/shown-obs", 200),
    ],
)
def test_consent_provisions_and_labels(doctor: Doctor, path: str, status: int) -> None:
    assert doctor.status(path) == status


def test_a_refusal_looks_like_a_resource_that_does_not_exist(doctor: Doctor) -> None:
    headers = {"Authorization": f"Bearer {doctor.token}"}
    hidden = doctor.client.get("/fhir/Observation/lab-restricted", headers=headers)
    missing = doctor.client.get("/fhir/Observation/never-was", headers=headers)
    assert hidden.status_code == missing.status_code == 404
    hidden_issue, missing_issue = hidden.json()["issue"][0], missing.json()["issue"][0]
    assert hidden_issue["code"] == missing_issue["code"]
    assert hidden_issue["diagnostics"].replace("lab-restricted", "X") == missing_issue[
        "diagnostics"
    ].replace("never-was", "X")
    bundle = doctor.search("Observation?subject=Patient/lab")
    found: list[dict[str, dict[str, str]]] = bundle.get("entry", [])
    ids = sorted(e["resource"]["id"] for e in found)
    assert ids == ["lab-normal"] and "total" not in bundle
    labelled = doctor.search("Observation?_security=R")
    entries: list[dict[str, dict[str, str]]] = labelled.get("entry", [])
    assert [e["resource"]["id"] for e in entries] == ["opened-restricted"]  # the permitted one
    history = doctor.status("Observation/lab-restricted/_history")
    assert history == 404


def test_a_refused_correction_changes_nothing(doctor: Doctor) -> None:
    headers = {"Authorization": f"Bearer {doctor.token}", "Content-Type": "application/fhir+json"}
    changed = {**_obs("read-only-obs", "read-only"), "status": "amended"}
    answer = doctor.client.put("/fhir/Observation/read-only-obs", json=changed, headers=headers)
    assert answer.status_code == 404
    stored = doctor.client.get("/fhir/Observation/read-only-obs", headers=headers).json()
    assert stored["status"] == "final" and stored["meta"]["versionId"] == "1"
    fine = {**_obs("lab-normal", "lab"), "status": "amended"}
    assert (
        doctor.client.put("/fhir/Observation/lab-normal", json=fine, headers=headers).status_code
        == 200
    )


def test_break_the_glass_opens_restricted_data(doctor: Doctor) -> None:
    headers = {"Authorization": f"Bearer {doctor.token}"}
    answer = doctor.client.post(
        "/auth/break-glass", data={"reason": "unconscious, allergy check"}, headers=headers
    )
    emergency = answer.json()["access_token"]
    assert doctor.status("Observation/lab-very", emergency) == 200
    assert doctor.status("Patient/no-treatment", emergency) == 200
