"""A practitioner's recorded care relationships through the real auth path, both databases: an
active CareTeam, an active EpisodeOfCare (as care manager or through its team) and a current or
recent Encounter each grant, naming the practitioner or a PractitionerRole of theirs in force;
expired, inactive, old or other practitioners' records do not; a Consent that denies still wins
and restricted resources still need an explicit permit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.api.fhir_client import FhirClient
from tests.api.secured_app import secured_client
from tests.api.test_practitioner_access import _consent, _patient
from tests.conftest import module_store_url
from yteso.auth.care_records import RECENT_ENCOUNTER_DAYS

NOW = datetime.now(UTC)
ME = "Practitioner/dr-an"
OTHER = "Practitioner/dr-binh"


def _when(days: int) -> str:
    return (NOW + timedelta(days=days)).isoformat()


def _care_team(
    id: str, patient: str | None, member: str, status: str = "active", **extra: object
) -> dict[str, object]:
    team: dict[str, object] = {
        "resourceType": "CareTeam",
        "id": id,
        "status": status,
        "participant": [{"member": {"reference": member}}],
        **extra,
    }
    if patient is not None:
        team["subject"] = {"reference": f"Patient/{patient}"}
    return team


def _episode(id: str, patient: str, status: str = "active", **extra: object) -> dict[str, object]:
    return {
        "resourceType": "EpisodeOfCare",
        "id": id,
        "status": status,
        "patient": {"reference": f"Patient/{patient}"},
        "period": {"start": _when(-100)},
        **extra,
    }


def _encounter(
    id: str, patient: str, status: str, individual: str, end_days: int | None = None
) -> dict[str, object]:
    period = {"start": _when(-200)} | ({"end": _when(end_days)} if end_days is not None else {})
    return {
        "resourceType": "Encounter",
        "id": id,
        "status": status,
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
        },
        "subject": {"reference": f"Patient/{patient}"},
        "participant": [{"individual": {"reference": individual}}],
        "period": period,
    }


RESTRICTED = {
    "security": [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
    ]
}
GRANTED = ["enc-ongoing", "enc-recent", "ep-manager", "ep-team", "team", "team-role"]
REFUSED = [
    "team-expired",
    "team-inactive",
    "team-other",
    "ep-finished",
    "ep-expired",
    "ep-other-team",
    "enc-old",
    "enc-other",
    "enc-cancelled",
    "team-refused",
    "enc-ended-role",
]
SEED: list[dict[str, object]] = [
    *(_patient(id) for id in GRANTED),
    *(_patient(id) for id in REFUSED),
    {
        "resourceType": "PractitionerRole",
        "id": "role-an",
        "active": True,
        "practitioner": {"reference": ME},
    },
    {
        "resourceType": "PractitionerRole",
        "id": "old-role-an",
        "active": True,
        "practitioner": {"reference": ME},
        "period": {"start": _when(-400), "end": _when(-300)},
    },
    _care_team("t6", "team-role", "PractitionerRole/role-an"),
    _encounter("n6", "enc-ended-role", "in-progress", "PractitionerRole/old-role-an"),
    _care_team("t1", "team", ME, period={"start": _when(-10), "end": _when(10)}),
    _care_team("t2", "team-expired", ME, period={"start": _when(-30), "end": _when(-1)}),
    _care_team("t3", "team-inactive", ME, status="inactive"),
    _care_team("t4", "team-other", OTHER),
    _care_team("t5", "team-refused", ME),
    _consent("c1", "team-refused", "deny", ME),
    _care_team("ward", None, ME),  # a ward team naming no patient
    _care_team("ward-b", None, OTHER),
    _episode("e1", "ep-manager", careManager={"reference": ME}),
    _episode("e2", "ep-team", team=[{"reference": "CareTeam/ward"}]),
    _episode("e3", "ep-finished", status="finished", careManager={"reference": ME}),
    _episode(
        "e4",
        "ep-expired",
        careManager={"reference": ME},
        period={"start": _when(-100), "end": _when(-2)},
    ),
    _episode("e5", "ep-other-team", team=[{"reference": "CareTeam/ward-b"}]),
    _encounter("n1", "enc-ongoing", "in-progress", ME),
    _encounter("n2", "enc-recent", "finished", ME, end_days=-5),
    _encounter("n3", "enc-old", "finished", ME, end_days=-(RECENT_ENCOUNTER_DAYS + 10)),
    _encounter("n4", "enc-other", "in-progress", OTHER),
    _encounter("n5", "enc-cancelled", "cancelled", ME),
    {
        "resourceType": "Observation",
        "id": "team-obs",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/team"},
    },
    {
        "resourceType": "Observation",
        "id": "team-secret",
        "meta": RESTRICTED,
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/team"},
    },
]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def doctor(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FhirClient, dict[str, str]]]:
    with module_store_url(request, tmp_path_factory, "care") as url:
        auth_home = Path(tmp_path_factory.mktemp("auth"))
        with secured_client(url, SEED, auth_home) as (client, security):
            token = security.tokens.issue(
                "dr-an", "user/*.rs", fhir_user=ME, facility="tram-y-te-9", role="practitioner"
            )
            yield client, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("patient", "status"),
    [(id, 200) for id in GRANTED] + [(id, 404) for id in REFUSED],
)
def test_care_relationship_reach(
    doctor: tuple[FhirClient, dict[str, str]], patient: str, status: int
) -> None:
    client, auth = doctor
    assert client.get(f"/fhir/Patient/{patient}", headers=auth).status_code == status


def test_patient_search_shows_patients_in_recorded_care(
    doctor: tuple[FhirClient, dict[str, str]],
) -> None:
    client, auth = doctor
    bundle = client.get("/fhir/Patient?_count=100", headers=auth).json()
    ids = sorted(e["resource"]["id"] for e in bundle.get("entry", []))
    assert ids == GRANTED


def test_care_relationship_does_not_open_restricted_resources(
    doctor: tuple[FhirClient, dict[str, str]],
) -> None:
    client, auth = doctor
    assert client.get("/fhir/Observation/team-obs", headers=auth).status_code == 200
    assert client.get("/fhir/Observation/team-secret", headers=auth).status_code == 404
