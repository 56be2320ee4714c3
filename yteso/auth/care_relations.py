"""A practitioner's reach: patients of their facility, of their care, or who consented.

A ``user/`` scope held by a practitioner (``fhirUser`` = ``Practitioner/ID``) reaches a patient's
compartment only when the Patient is managed by the practitioner's facility
(``managingOrganization``) or names them or the facility as ``generalPractitioner``, or they
have another recorded care relationship with the patient (an active CareTeam, an active
EpisodeOfCare or a current or recent Encounter: :mod:`yteso.auth.care_records`), or an active
Consent permits them (https://hl7.org/fhir/R4/consent.html); an active Consent that denies them
wins over the facility and the care relationship. Break-the-glass (a token with a reason,
short-lived and specially audited) reaches every patient.

Consent provisions are evaluated per resource: a provision applies when every criterion it
states matches the access (``actor``, ``period``, ``purpose`` of use, ``action``, ``class`` =
resource type, ``securityLabel`` = a label of the resource's ``meta.security``, ``data`` = the
resource itself); a nested provision that applies overrides its parent, and any deny wins over
any permit. A resource labelled restricted (v3 Confidentiality ``R`` or ``V``) is not reached
through the facility or the care relationship, nor by a permit that does not name its label
or the resource: only an explicit permit (or break-the-glass) opens it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from yteso.auth.care_records import Criteria, in_recorded_care
from yteso.fhir.types import Json

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RESTRICTED = frozenset({"R", "V"})
TREATMENT = "TREAT"  # v3 ActReason: the purpose of a practitioner's ordinary access


class PatientRecords(Protocol):
    """What the rules read from the store (``yteso.api`` implements it over a session)."""

    def patient(self, id: str) -> Json | None: ...

    def consents(self, patient_id: str) -> list[Json]: ...

    def related(self, resource_type: str, criteria: Criteria) -> list[Json]: ...


@dataclass(frozen=True)
class Access:
    """One access to decide: who (actor references), why, what action, on which resource
    (None: the patient's record as a whole)."""

    actors: frozenset[str]
    now: datetime
    resource: Json | None = None
    action: str = "access"  # consent-action: access (read, search) or correct (writes)
    purpose: str = TREATMENT


def _references(values: object) -> set[str]:
    items = values if isinstance(values, list) else [values]
    return {str(v.get("reference")) for v in items if isinstance(v, dict) and v.get("reference")}


def _codes(values: object) -> set[tuple[str | None, str]]:
    """(system, code) of Codings, or of the codings of CodeableConcepts."""
    found: set[tuple[str | None, str]] = set()
    for value in values if isinstance(values, list) else [values]:
        if not isinstance(value, dict):
            continue
        for coding in value.get("coding", [value]):
            if isinstance(coding, dict) and coding.get("code"):
                found.add((coding.get("system"), str(coding["code"])))
    return found


def _matches(wanted: set[tuple[str | None, str]], found: set[tuple[str | None, str]]) -> bool:
    """A wanted coding without a system matches that code in any system."""
    codes = {code for _, code in found}
    return any((s, c) in found if s else c in codes for s, c in wanted)


def security_labels(resource: Json) -> set[tuple[str | None, str]]:
    meta = resource.get("meta")
    return _codes(meta.get("security", [])) if isinstance(meta, dict) else set()


def is_restricted(resource: Json) -> bool:
    return any(
        code in RESTRICTED and system in (None, CONFIDENTIALITY)
        for system, code in security_labels(resource)
    )


def _in_period(period: object, now: datetime) -> bool:
    if not isinstance(period, dict):
        return True
    start, end = period.get("start"), period.get("end")
    moment = now.isoformat()
    return (start is None or str(start) <= moment) and (end is None or moment <= str(end))


def _names_resource(provision: Json, resource: Json | None) -> bool:
    """Whether the provision's ``securityLabel`` or ``data`` criteria single this resource out."""
    if resource is None:
        return False
    target = f"{resource.get('resourceType')}/{resource.get('id')}"
    data = {str(d.get("reference", {}).get("reference")) for d in provision.get("data", [])}
    if any(ref == target or ref.endswith("/" + target) for ref in data):
        return True
    wanted = _codes(provision.get("securityLabel", []))
    return bool(wanted) and _matches(wanted, security_labels(resource))


def _provision_applies(provision: Json, access: Access) -> bool:
    named = {str(a.get("reference", {}).get("reference")) for a in provision.get("actor", [])}
    if named and not named & access.actors:
        return False
    if not _in_period(provision.get("period"), access.now):
        return False
    purposes = {code for _, code in _codes(provision.get("purpose", []))}
    if purposes and access.purpose not in purposes:
        return False
    actions = {code for _, code in _codes(provision.get("action", []))}
    if actions and access.action not in actions:
        return False
    resource = access.resource
    classes = {code for _, code in _codes(provision.get("class", []))}
    if classes and (resource is None or resource.get("resourceType") not in classes):
        return False
    if provision.get("securityLabel") or provision.get("data"):
        return _names_resource(provision, resource)
    return True


@dataclass(frozen=True)
class ConsentDecision:
    decision: str | None  # "deny", "permit" or None (the Consents say nothing)
    explicit: bool = False  # a permit that names the resource's security label or the resource


def consent_decision(consents: list[Json], access: Access) -> ConsentDecision:
    """The active Consents' answer for this access: per Consent the most specific provision
    that applies (a nested one overrides its parent); any deny wins over any permit."""
    decisions: set[str] = set()
    explicit = False
    for consent in consents:
        if consent.get("status") != "active":
            continue
        root = consent.get("provision") or {}
        deciding = root if _provision_applies(root, access) else None
        for nested in root.get("provision", []):
            if _provision_applies(nested, access):
                deciding = nested
        decision = deciding.get("type") if deciding is not None else None
        if decision in ("deny", "permit"):
            decisions.add(str(decision))
            if decision == "permit" and deciding is not None:
                explicit = explicit or _names_resource(deciding, access.resource)
    if "deny" in decisions:
        return ConsentDecision("deny")
    return ConsentDecision("permit", explicit) if decisions else ConsentDecision(None)


def practitioner_reaches(
    records: PatientRecords,
    patient_id: str,
    practitioner: str,
    facility: str | None,
    resource: Json | None = None,
    action: str = "access",
) -> bool:
    """Whether ``practitioner`` (``Practitioner/ID``) of ``facility`` (an Organization id) may
    reach ``resource`` of Patient/``patient_id``'s record (None: the record as a whole)."""
    actors = frozenset({practitioner} | ({f"Organization/{facility}"} if facility else set()))
    now = datetime.now(UTC)
    access = Access(actors, now, resource, action)
    answer = consent_decision(records.consents(patient_id), access)
    if answer.decision == "deny":
        return False
    if resource is not None and is_restricted(resource):
        return answer.decision == "permit" and answer.explicit
    if answer.decision == "permit":
        return True
    patient = records.patient(patient_id)
    if patient is None:
        return False
    carers = _references(patient.get("managingOrganization")) | _references(
        patient.get("generalPractitioner")
    )
    return bool(carers & actors) or in_recorded_care(records, patient_id, practitioner, now)


__all__ = [
    "Access",
    "ConsentDecision",
    "PatientRecords",
    "consent_decision",
    "is_restricted",
    "practitioner_reaches",
    "security_labels",
]
