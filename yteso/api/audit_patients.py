"""The patients an audited interaction concerned, for "who accessed my record".

https://profiles.ihe.net/ITI/BALP/content.html — a BALP AuditEvent names the patient as an
entity. An interaction concerns the patients whose compartment holds the resource it read,
wrote or was refused (https://hl7.org/fhir/R4/compartmentdefinition-patient.html), the patients
its search parameters name (``subject=Patient/1``, ``patient=1``, ``Patient?_id=1``, a
compartment URL), and the token's own patient. Without them a practitioner reading
``Observation/1`` or searching ``?subject=Patient/1`` would not show in that patient's list.
"""

from __future__ import annotations

from collections.abc import Iterable

from yteso.api.exchange import FhirRequest
from yteso.api.search_params import CONTROLS
from yteso.auth import Principal
from yteso.auth.access_rules import compartment_patients
from yteso.fhir.definitions import search_parameters
from yteso.fhir.types import Json


def _patient_id(reference: str) -> str | None:
    """``Patient/1``, ``http://x/fhir/Patient/1/_history/2`` -> ``1``."""
    if "Patient/" not in reference:
        return None
    found = reference.rsplit("Patient/", 1)[1].split("/", 1)[0]
    return found or None


def named_in_params(request: FhirRequest) -> set[str]:
    """The patient ids a request's search parameters name (reference parameters, ``_id`` of
    a Patient search, ``_compartment``). Chains name them only indirectly: not counted."""
    type_ = request.resource_type
    definitions = search_parameters(type_) if type_ is not None else {}
    found: set[str] = set()
    for name, value in request.params:
        code, _, modifier = name.partition(":")
        if code in CONTROLS or "." in code:
            continue
        definition = definitions.get(code)
        is_reference = definition is not None and definition.type == "reference"
        only_patients = (
            definition is not None
            and is_reference
            and (modifier == "Patient" or definition.target == ("Patient",))
        )
        for item in value.split(","):
            if code == "_id" and type_ == "Patient":
                found.add(item)
            elif code == "_compartment" or is_reference:
                patient = _patient_id(item)
                if patient is None and only_patients and "/" not in item and item:
                    patient = item
                if patient is not None:
                    found.add(patient)
    return found


def patients_concerned(
    principal: Principal, request: FhirRequest, resources: Iterable[Json]
) -> tuple[str, ...]:
    """Sorted patient ids: the token's patient, those the parameters name, and those whose
    compartment holds one of ``resources`` (read, written or refused)."""
    found = named_in_params(request)
    if request.resource_type == "Patient" and request.id is not None:
        found.add(request.id)
    for resource in resources:
        found |= compartment_patients(resource)
    if principal.patient is not None:
        found.add(principal.patient)
    return tuple(sorted(found))


__all__ = ["named_in_params", "patients_concerned"]
