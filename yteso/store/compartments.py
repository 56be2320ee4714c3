"""The patient-compartment key of a resource: the future Citus distribution column.

https://hl7.org/fhir/R4/compartmentdefinition-patient.html — a resource belongs to a patient's
compartment through references such as ``subject`` or ``patient``. The store records the first
such patient id beside every version so that, at national scale, rows of one patient can live
on one shard (see docs/dev/storage.md). Resources outside any patient compartment
(Organization, Practitioner, terminology...) get ``None`` and become Citus reference tables.
"""

from __future__ import annotations

from typing import Final

from yteso.fhir.types import Json

# The elements that most often carry the patient link; the search issue will replace this list
# with the full CompartmentDefinition once the generated definitions expose it.
_PATIENT_LINKS: Final = ("subject", "patient", "beneficiary", "individual")


def patient_compartment_key(resource: Json) -> str | None:
    """The id of the patient this resource belongs to, or ``None``."""
    if resource.get("resourceType") == "Patient":
        resource_id = resource.get("id")
        return resource_id if isinstance(resource_id, str) else None
    for element in _PATIENT_LINKS:
        link = resource.get(element)
        if isinstance(link, dict):
            reference = link.get("reference")
            if isinstance(reference, str) and reference.startswith("Patient/"):
                return reference.removeprefix("Patient/").split("/", 1)[0]
    return None
