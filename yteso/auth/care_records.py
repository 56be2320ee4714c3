"""A practitioner's recorded care relationships with a patient, as FHIR R4 records them.

Each relationship is found with indexed searches of the patient's records
(https://hl7.org/fhir/R4/careteam.html, episodeofcare.html, encounter.html); the practitioner
is named either directly (``Practitioner/ID``) or through a PractitionerRole of theirs that is
in force (``active`` not false, ``period`` covering now):

- an active CareTeam of the patient (``period``, when given, covering now) with the
  practitioner among ``participant.member``;
- an active EpisodeOfCare of the patient (``period`` covering now) whose ``careManager`` is the
  practitioner, or whose ``team`` is a CareTeam (active, period covering now) they are in;
- an Encounter of the patient with the practitioner as ``participant.individual`` that is under
  way (in-progress, arrived, triaged, onleave), or finished within the last
  :data:`RECENT_ENCOUNTER_DAYS` days (its ``period.end``, else ``period.start``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from yteso.fhir.types import Json

# After a finished Encounter its practitioners keep access this long (follow-up, results,
# letters); longer care goes through a CareTeam or an EpisodeOfCare.
RECENT_ENCOUNTER_DAYS = 30
ONGOING_ENCOUNTER = ("in-progress", "arrived", "triaged", "onleave")

Criteria = tuple[tuple[str, str], ...]  # search parameters (name, comma-ORed values), ANDed


class CareRecords(Protocol):
    """The indexed searches the relationships need (``yteso.api`` runs them on the store)."""

    def related(self, resource_type: str, criteria: Criteria) -> list[Json]: ...


def _covers(period: object, now: datetime) -> bool:
    """Whether ``period`` (absent: always) covers ``now``; a date-only end covers its whole day."""
    if not isinstance(period, dict):
        return True
    start, end = period.get("start"), period.get("end")
    moment = now.isoformat()
    return (start is None or str(start) <= moment) and (
        end is None or moment[: len(str(end))] <= str(end)
    )


def _refs(values: object) -> set[str]:
    items = values if isinstance(values, list) else [values]
    return {str(v.get("reference")) for v in items if isinstance(v, dict) and v.get("reference")}


def _active(resources: list[Json], now: datetime) -> list[Json]:
    return [r for r in resources if r.get("status") == "active" and _covers(r.get("period"), now)]


def _member(team: Json, me: frozenset[str]) -> bool:
    members = _refs([p.get("member") for p in team.get("participant", []) if isinstance(p, dict)])
    return bool(members & me)


def _identities(records: CareRecords, practitioner: str, now: datetime) -> frozenset[str]:
    """The practitioner and their PractitionerRoles in force."""
    roles = records.related("PractitionerRole", (("practitioner", practitioner),))
    return frozenset({practitioner}) | {
        f"PractitionerRole/{role.get('id')}"
        for role in roles
        if role.get("active") is not False
        and _covers(role.get("period"), now)
        and practitioner in _refs(role.get("practitioner"))
    }


def _in_care_team(records: CareRecords, patient: str, me: frozenset[str], now: datetime) -> bool:
    who = ",".join(sorted(me))
    teams = records.related(
        "CareTeam", (("patient", patient), ("participant", who), ("status", "active"))
    )
    return any(_member(team, me) for team in _active(teams, now))


def _in_episode(records: CareRecords, patient: str, me: frozenset[str], now: datetime) -> bool:
    episodes = _active(
        records.related("EpisodeOfCare", (("patient", patient), ("status", "active"))), now
    )
    if any(_refs(e.get("careManager")) & me for e in episodes):
        return True
    team_ids = sorted(
        ref.rsplit("/", 1)[1]
        for episode in episodes
        for ref in _refs(episode.get("team", []))
        if ref.startswith("CareTeam/") or "/CareTeam/" in ref
    )
    if not team_ids:
        return False
    teams = records.related(
        "CareTeam",
        (("_id", ",".join(team_ids)), ("participant", ",".join(sorted(me))), ("status", "active")),
    )
    return any(_member(team, me) for team in _active(teams, now))


def _recent_encounter(encounter: Json, me: frozenset[str], now: datetime) -> bool:
    individuals = _refs(
        [p.get("individual") for p in encounter.get("participant", []) if isinstance(p, dict)]
    )
    if not individuals & me:
        return False
    status = encounter.get("status")
    if status in ONGOING_ENCOUNTER:
        return True
    period = encounter.get("period")
    ended = (period.get("end") or period.get("start")) if isinstance(period, dict) else None
    since = (now - timedelta(days=RECENT_ENCOUNTER_DAYS)).isoformat()
    return status == "finished" and ended is not None and str(ended) >= since[: len(str(ended))]


def _in_encounter(records: CareRecords, patient: str, me: frozenset[str], now: datetime) -> bool:
    encounters = records.related(
        "Encounter",
        (
            ("patient", patient),
            ("participant", ",".join(sorted(me))),
            ("status", ",".join((*ONGOING_ENCOUNTER, "finished"))),
        ),
    )
    return any(_recent_encounter(e, me, now) for e in encounters)


def in_recorded_care(
    records: CareRecords, patient_id: str, practitioner: str, now: datetime
) -> bool:
    """Whether ``practitioner`` (``Practitioner/ID``) has a recorded care relationship now with
    Patient/``patient_id`` through a CareTeam, an EpisodeOfCare or an Encounter."""
    patient = f"Patient/{patient_id}"
    me = _identities(records, practitioner, now)
    return (
        _in_care_team(records, patient, me, now)
        or _in_episode(records, patient, me, now)
        or _in_encounter(records, patient, me, now)
    )


__all__ = ["ONGOING_ENCOUNTER", "RECENT_ENCOUNTER_DAYS", "CareRecords", "in_recorded_care"]
