"""Accounts linked to FHIR records: a citizen to their Patient by citizen ID (CCCD), a
practitioner to a PractitionerRole (which names the Practitioner and the facility Organization).

https://hl7.org/fhir/R4/practitionerrole.html — the role is read again each time a token is
issued (:func:`practitioner_link`), so a practitioner moved to another facility, or whose role
was ended (``active`` false, ``period.end`` past) or removed, gets tokens for the new facility or
none, within one access-token lifetime. A citizen's Patient is found once, when the account is
made (:func:`citizen_patient`): the CCCD must name exactly one active Patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from yteso.fhir.types import Json
from yteso.fhir.vn_core import CCCD_SYSTEM


class Directory(Protocol):
    """What the links read from the store (``yteso.store.auth_directory`` implements it)."""

    def read(self, resource_type: str, id: str) -> Json | None:
        """The current resource, None when absent or deleted."""
        ...

    def with_identifier(self, resource_type: str, system: str, value: str) -> list[Json]:
        """The current resources of a type carrying the identifier ``system|value``."""
        ...


class LinkRefused(ValueError):
    """The FHIR record an account should be linked to is missing, ambiguous or ended."""


@dataclass(frozen=True)
class PractitionerLink:
    practitioner: str  # "Practitioner/ID": the token's fhirUser
    facility: str | None  # the Organization id of the role, None when it names none


def citizen_patient(directory: Directory, cccd: str) -> str:
    """The id of the one active Patient whose CCCD is ``cccd``."""
    if not (len(cccd) == 12 and cccd.isdigit()):
        raise LinkRefused(f"a CCCD is 12 digits, got {cccd!r}")
    found = directory.with_identifier("Patient", CCCD_SYSTEM, cccd)
    active = sorted(str(p.get("id")) for p in found if p.get("active") is not False)
    if not active:
        raise LinkRefused(f"no active Patient has CCCD {cccd}")
    if len(active) > 1:
        raise LinkRefused(
            f"{len(active)} Patients have CCCD {cccd} ({', '.join(active)}): "
            "resolve the duplicate records first"
        )
    return active[0]


def practitioner_link(directory: Directory, role_id: str, now: datetime) -> PractitionerLink:
    """The Practitioner and facility of PractitionerRole/``role_id``, if it is in force."""
    role = directory.read("PractitionerRole", role_id)
    if role is None:
        raise LinkRefused(f"no PractitionerRole/{role_id}")
    if role.get("active") is False or not _in_period(role.get("period"), now):
        raise LinkRefused(f"PractitionerRole/{role_id} is not active")
    practitioner = _local_reference(role.get("practitioner"), "Practitioner")
    if practitioner is None:
        raise LinkRefused(f"PractitionerRole/{role_id} names no Practitioner")
    organization = _local_reference(role.get("organization"), "Organization")
    facility = organization.removeprefix("Organization/") if organization else None
    return PractitionerLink(practitioner, facility)


def account_links(
    directory: Directory,
    role: str,
    citizen_id: str | None,
    practitioner_role: str | None,
    given: dict[str, str | None],
) -> dict[str, str | None]:
    """The links of a new account, each checked against the database: a citizen by CCCD, a
    practitioner by PractitionerRole (in force now), or ``given`` ids (``patient``,
    ``fhir_user``, ``facility``) as older accounts had them, a given Patient having to exist."""
    stated = any(v is not None for v in given.values())
    if citizen_id is not None:
        if role != "citizen" or stated:
            raise LinkRefused("a citizen ID links a citizen, without patient or fhir_user")
        found = citizen_patient(directory, citizen_id)
        return {"patient": found, "fhir_user": f"Patient/{found}"}
    if practitioner_role is not None:
        if role != "practitioner" or stated:
            raise LinkRefused("a PractitionerRole links a practitioner, without fhir_user/facility")
        practitioner_link(directory, practitioner_role, datetime.now(UTC))
        return {"practitioner_role": practitioner_role}
    patient = given.get("patient")
    if patient is not None and directory.read("Patient", patient) is None:
        raise LinkRefused(f"no Patient/{patient}")
    if patient is not None and given.get("fhir_user") is None:
        return {**given, "fhir_user": f"Patient/{patient}"}
    return dict(given)


def _local_reference(value: object, resource_type: str) -> str | None:
    """``Type/id`` of a reference to this server's ``resource_type`` (absolute URLs of another
    server are not followed)."""
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str):
        return None
    parts = reference.split("/")
    if len(parts) != 2 or parts[0] != resource_type or not parts[1]:
        return None
    return reference


def _in_period(period: object, now: datetime) -> bool:
    """Whether ``now`` lies in a FHIR Period; a bound given as a date (or year, year-month)
    covers that whole day (month, year): a role ending on ``2026-11-26`` holds that day."""
    if not isinstance(period, dict):
        return True
    start, end = period.get("start"), period.get("end")
    return (start is None or _compare(now, str(start)) >= 0) and (
        end is None or _compare(now, str(end)) <= 0
    )


def _compare(now: datetime, bound: str) -> int:
    """-1, 0 or 1 as ``now`` is before, within or after ``bound`` (at the bound's precision)."""
    if "T" in bound:
        try:
            moment = datetime.fromisoformat(bound)
        except ValueError:
            return 0  # unreadable: the store's validation should not have let it in
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (now > moment) - (now < moment)
    text = now.astimezone(UTC).date().isoformat()[: len(bound)]
    return (text > bound) - (text < bound)


__all__ = [
    "Directory",
    "LinkRefused",
    "PractitionerLink",
    "account_links",
    "citizen_patient",
    "practitioner_link",
]
