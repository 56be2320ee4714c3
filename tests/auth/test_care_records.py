"""The care relationship rules on their own, over records that ignore the search criteria (so
the rules' own checks, not the store's index, must refuse), and their per-request cache."""

from __future__ import annotations

from datetime import UTC, datetime

from yteso.auth.access_rules import ResourceAccess
from yteso.auth.care_records import Criteria, in_recorded_care
from yteso.auth.scopes import ScopeSet
from yteso.auth.tokens import Principal
from yteso.fhir.types import Json

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ME = "Practitioner/dr-an"


class Unfiltered:
    """Every record of the asked type, whatever the criteria; counts the searches."""

    def __init__(self, *resources: Json) -> None:
        self.resources = resources
        self.searches: list[tuple[str, Criteria]] = []

    def patient(self, id: str) -> Json | None:
        return {"resourceType": "Patient", "id": id}

    def consents(self, patient_id: str) -> list[Json]:
        return []

    def related(self, resource_type: str, criteria: Criteria) -> list[Json]:
        self.searches.append((resource_type, criteria))
        return [r for r in self.resources if r["resourceType"] == resource_type]


def _team(member: str, **extra: object) -> Json:
    return {
        "resourceType": "CareTeam",
        "id": "t",
        "status": "active",
        "participant": [{"member": {"reference": member}}],
        **extra,
    }


def _encounter(status: str, individual: str = ME, end: str | None = None) -> Json:
    period = {"start": "2026-01-01"} | ({"end": end} if end else {})
    return {
        "resourceType": "Encounter",
        "id": "n",
        "status": status,
        "participant": [{"individual": {"reference": individual}}],
        "period": period,
    }


def test_care_team_needs_the_member_and_a_current_period() -> None:
    assert in_recorded_care(Unfiltered(_team(ME)), "p", ME, NOW)
    assert not in_recorded_care(Unfiltered(_team("Practitioner/other")), "p", ME, NOW)
    assert not in_recorded_care(Unfiltered(_team(ME, status="suspended")), "p", ME, NOW)
    # a date-only end covers its whole day; the day before it has ended
    assert in_recorded_care(Unfiltered(_team(ME, period={"end": "2026-11-26"})), "p", ME, NOW)
    assert not in_recorded_care(Unfiltered(_team(ME, period={"end": "2026-11-25"})), "p", ME, NOW)
    assert not in_recorded_care(Unfiltered(_team(ME, period={"start": "2026-12"})), "p", ME, NOW)


def test_encounter_must_be_under_way_or_recently_finished_with_the_practitioner() -> None:
    assert in_recorded_care(Unfiltered(_encounter("triaged")), "p", ME, NOW)
    assert not in_recorded_care(Unfiltered(_encounter("triaged", "Practitioner/x")), "p", ME, NOW)
    assert in_recorded_care(Unfiltered(_encounter("finished", end="2026-11-01")), "p", ME, NOW)
    assert not in_recorded_care(Unfiltered(_encounter("finished", end="2026-10-20")), "p", ME, NOW)
    assert not in_recorded_care(Unfiltered(_encounter("planned")), "p", ME, NOW)


def test_episode_of_care_through_its_manager_only_while_active() -> None:
    episode: Json = {
        "resourceType": "EpisodeOfCare",
        "id": "e",
        "status": "active",
        "careManager": {"reference": ME},
    }
    assert in_recorded_care(Unfiltered(episode), "p", ME, NOW)
    assert not in_recorded_care(Unfiltered({**episode, "status": "onhold"}), "p", ME, NOW)
    ended = {**episode, "period": {"start": "2025-01-01", "end": "2026-06-30"}}
    assert not in_recorded_care(Unfiltered(ended), "p", ME, NOW)


def test_one_request_searches_each_relationship_once() -> None:
    records = Unfiltered()
    principal = Principal(
        "dr-an", ScopeSet.parse("user/*.rs"), "tok", 0, fhir_user=ME, role="practitioner"
    )
    access = ResourceAccess(principal, records)
    observation: Json = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/p"},
    }
    assert not access.may(observation, "r")
    first = len(records.searches)
    assert first >= 3
    assert not access.may({**observation, "id": "other"}, "r")
    assert len(records.searches) == first
