"""How the master patient index shows in FHIR resources: the links it manages on Patients,
the golden ``Person`` of a linked person, and the ``Task`` that records each pair decision.

Every ``Patient.link`` the MPI writes carries the :data:`MANAGED_URL` extension (how it was
decided: ``auto``, ``steward`` or ``merge``), so the links a client sends are never touched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from yteso.fhir.types import Json
from yteso.fhir.vn_identifiers import valid_cccd

MPI_SYSTEM = "https://yteso.vn/fhir/CodeSystem/mpi"
MANAGED_URL = "https://yteso.vn/fhir/StructureDefinition/mpi-link"
GOLDEN_TAG = {"system": MPI_SYSTEM, "code": "golden", "display": "MPI golden record"}
PAIR_CODE = "match"  # Task.code of a pair decision (pending review or decided)
MERGE_CODE = "merge"  # Task.code of a merge (and its undo)
#: Task.businessStatus of a decided pair
LINK, NOT_A_MATCH = "link", "not-a-match"


def code(value: str, display: str | None = None) -> Json:
    coding: Json = {"system": MPI_SYSTEM, "code": value}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def ref(patient_id: str) -> Json:
    return {"reference": f"Patient/{patient_id}"}


def ref_id(reference: Any, resource_type: str = "Patient") -> str | None:
    """``Patient/ID`` (or a full URL ending so) -> ``ID``."""
    text = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(text, str):
        return None
    parts = text.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == resource_type and parts[-1]:
        return parts[-1]
    return None


def pair_task_id(left: str, right: str) -> str:
    """One Task per unordered pair, found by a primary-key read (ids are at most 64 chars)."""
    low, high = sorted((left, right))
    return "mpi-" + hashlib.sha256(f"{low}|{high}".encode()).hexdigest()[:40]


def is_managed(link: Json) -> bool:
    return any(e.get("url") == MANAGED_URL for e in link.get("extension") or [])


def managed_link(other: str, kind: str, how: str) -> Json:
    return {
        "extension": [{"url": MANAGED_URL, "valueCode": how}],
        "other": ref(other),
        "type": kind,
    }


def merged_into(patient: Json) -> str | None:
    """The survivor a merged-away record points at (inactive, ``replaced-by``), else None."""
    if patient.get("active") is not False:
        return None
    for link in patient.get("link") or []:
        if link.get("type") == "replaced-by":
            return ref_id(link.get("other"))
    return None


def with_seealso(patient: Json, others: Iterable[str], how: dict[str, str]) -> Json:
    """``patient`` whose managed ``seealso`` links name exactly ``others`` (other links kept)."""
    old = {
        ref_id(link.get("other")): link
        for link in patient.get("link") or []
        if is_managed(link) and link.get("type") == "seealso"
    }
    kept = [
        link
        for link in patient.get("link") or []
        if not (is_managed(link) and link.get("type") == "seealso")
    ]
    wanted = [old.get(o) or managed_link(o, "seealso", how.get(o, "auto")) for o in sorted(others)]
    links = kept + wanted
    updated = {k: v for k, v in patient.items() if k != "link"}
    if links:
        updated["link"] = links
    return updated


def links_of(patient: Json) -> list[Json]:
    return list(patient.get("link") or [])


def golden_person(
    person_id: str | None, members: dict[str, Json], assurance: dict[str, str]
) -> Json:
    """The golden record of one person: identity from its best record (one with a valid CCCD,
    else the most recently updated), every identifier of every record, a link to each record."""

    def rank(item: tuple[str, Json]) -> tuple[bool, str, str]:
        patient_id, patient = item
        updated = str((patient.get("meta") or {}).get("lastUpdated") or "")
        return (valid_cccd(patient) is not None, updated, patient_id)

    best = max(members.items(), key=rank)[1] if members else {}
    identifiers: list[Json] = []
    for patient_id in sorted(members):
        for identifier in members[patient_id].get("identifier") or []:
            if identifier not in identifiers:
                identifiers.append(identifier)
    person: Json = {"resourceType": "Person", "meta": {"tag": [GOLDEN_TAG]}}
    if person_id:
        person["id"] = person_id
    if identifiers:
        person["identifier"] = identifiers
    for field in ("name", "telecom", "gender", "birthDate", "address"):
        if field in best:
            person[field] = best[field]
    person["active"] = len(members) > 1
    person["link"] = [
        {"target": ref(patient_id), "assurance": assurance.get(patient_id, "level3")}
        for patient_id in sorted(members)
    ]
    return person


def person_members(person: Json) -> list[str]:
    found = []
    for link in person.get("link") or []:
        patient_id = ref_id(link.get("target"))
        if patient_id:
            found.append(patient_id)
    return found


def person_assurance(person: Json) -> dict[str, str]:
    found = {}
    for link in person.get("link") or []:
        patient_id = ref_id(link.get("target"))
        if patient_id and isinstance(link.get("assurance"), str):
            found[patient_id] = link["assurance"]
    return found
