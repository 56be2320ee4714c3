"""A practitioner's reach: patients of their facility, of their care, or who consented.

A ``user/`` scope held by a practitioner (``fhirUser`` = ``Practitioner/ID``) reaches a patient's
compartment only when the Patient is managed by the practitioner's facility
(``managingOrganization``) or names them or the facility as ``generalPractitioner``, or an active
Consent permits them (https://hl7.org/fhir/R4/consent.html); an active Consent that denies them
wins over the facility and the care relationship. Break-the-glass (a token with a reason,
short-lived and specially audited) reaches every patient.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from yteso.fhir.types import Json


class PatientRecords(Protocol):
    """What the rules read from the store (``yteso.api`` implements it over a session)."""

    def patient(self, id: str) -> Json | None: ...

    def consents(self, patient_id: str) -> list[Json]: ...


def _references(values: object) -> set[str]:
    items = values if isinstance(values, list) else [values]
    return {str(v.get("reference")) for v in items if isinstance(v, dict) and v.get("reference")}


def _in_period(period: object, now: datetime) -> bool:
    if not isinstance(period, dict):
        return True
    start, end = period.get("start"), period.get("end")
    moment = now.isoformat()
    return (start is None or str(start) <= moment) and (end is None or moment <= str(end))


def _provision_applies(provision: Json, actors: set[str], now: datetime) -> bool:
    named = {str(a.get("reference", {}).get("reference")) for a in provision.get("actor", [])}
    return (not named or bool(named & actors)) and _in_period(provision.get("period"), now)


def consent_decision(consents: list[Json], actors: set[str], now: datetime) -> str | None:
    """``"deny"``, ``"permit"`` or None from the active Consents for these actors; a nested
    provision that applies overrides its parent, and any deny wins over any permit."""
    decisions = set()
    for consent in consents:
        if consent.get("status") != "active":
            continue
        provision = consent.get("provision") or {}
        decision = provision.get("type") if _provision_applies(provision, actors, now) else None
        for nested in provision.get("provision", []):
            if _provision_applies(nested, actors, now) and nested.get("actor"):
                decision = nested.get("type")
        if decision in ("deny", "permit"):
            decisions.add(decision)
    return "deny" if "deny" in decisions else "permit" if decisions else None


def practitioner_reaches(
    records: PatientRecords, patient_id: str, practitioner: str, facility: str | None
) -> bool:
    """Whether ``practitioner`` (``Practitioner/ID``) of ``facility`` (an Organization id) may
    reach Patient/``patient_id``'s record."""
    actors = {practitioner} | ({f"Organization/{facility}"} if facility else set())
    decision = consent_decision(records.consents(patient_id), actors, datetime.now(UTC))
    if decision is not None:
        return decision == "permit"
    patient = records.patient(patient_id)
    if patient is None:
        return False
    carers = _references(patient.get("managingOrganization")) | _references(
        patient.get("generalPractitioner")
    )
    return bool(carers & actors)


__all__ = ["PatientRecords", "consent_decision", "practitioner_reaches"]
