"""Builders for the clinical resources every care step shares: Encounter, Condition,
Observation and MedicationRequest (https://hl7.org/fhir/R4/clinicalsummary-module.html).

Constant parts (codings, categories) are module-level and shared between resources: they are
only serialised, never mutated.
"""

from __future__ import annotations

from dataclasses import dataclass

from yteso.fhir.types import Json
from yteso.synth.elements import SYNTHETIC_TAG, concept, instant, ref
from yteso.synth.facilities import Facility
from yteso.synth.people import Person

ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

ENCOUNTER_CLASS = {
    "AMB": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
    "IMP": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
    "VR": {"system": ACT_CODE, "code": "VR", "display": "virtual"},
}
CLINICAL_ACTIVE = concept(
    "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"
)
CLINICAL_RESOLVED = concept(
    "http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved", "Resolved"
)
CONFIRMED = concept(
    "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"
)
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
PROBLEM_LIST = [concept(_CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]
ENCOUNTER_DIAGNOSIS = [concept(_CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")]
_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITAL_SIGNS = [concept(_OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")]
LABORATORY = [concept(_OBSERVATION_CATEGORY, "laboratory", "Laboratory")]


class Visit:
    """One encounter's who, where and when, reused by the records made during it."""

    __slots__ = (
        "encounter_id",
        "facility",
        "minute",
        "ordinal",
        "person",
        "practitioner_id",
        "start",
    )

    def __init__(
        self,
        encounter_id: str,
        person: Person,
        facility: Facility,
        practitioner_id: str,
        ordinal: int,
        minute: int,
    ) -> None:
        self.encounter_id = encounter_id
        self.person = person
        self.facility = facility
        self.practitioner_id = practitioner_id
        self.ordinal = ordinal
        self.minute = minute
        self.start = instant(ordinal, minute)


def encounter(
    visit: Visit,
    class_code: str,
    type_text: str,
    days: int = 0,
    minutes: int = 20,
    diagnosis_id: str | None = None,
) -> Json:
    """A finished Encounter; ``diagnosis_id`` names the Condition diagnosed during it."""
    facility = visit.facility
    end_minute = visit.minute + minutes if days == 0 else 9 * 60
    resource: Json = {
        "resourceType": "Encounter",
        "id": visit.encounter_id,
        "meta": SYNTHETIC_TAG,
        "status": "finished",
        "class": ENCOUNTER_CLASS[class_code],
        "type": [{"text": type_text}],
        "subject": ref("Patient", visit.person.id),
        "participant": [{"individual": ref("Practitioner", visit.practitioner_id)}],
        "period": {"start": visit.start, "end": instant(visit.ordinal + days, end_minute)},
        "location": [{"location": ref("Location", facility.location_id)}],
        "serviceProvider": ref("Organization", facility.organization_id),
    }
    if diagnosis_id:
        resource["diagnosis"] = [{"condition": ref("Condition", diagnosis_id), "rank": 1}]
    return resource


def condition(
    condition_id: str,
    visit: Visit,
    code: Json,
    *,
    category: list[Json],
    onset: str,
    abated: str | None = None,
) -> Json:
    resource: Json = {
        "resourceType": "Condition",
        "id": condition_id,
        "meta": SYNTHETIC_TAG,
        "clinicalStatus": CLINICAL_RESOLVED if abated else CLINICAL_ACTIVE,
        "verificationStatus": CONFIRMED,
        "category": category,
        "code": code,
        "subject": ref("Patient", visit.person.id),
        "encounter": ref("Encounter", visit.encounter_id),
        "onsetDateTime": onset,
        "recordedDate": visit.start,
        "recorder": ref("Practitioner", visit.practitioner_id),
    }
    if abated:
        resource["abatementDateTime"] = abated
    return resource


def quantity(value: float, unit: str, code: str) -> Json:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def observation(
    visit: Visit, category: list[Json], code: Json, value: Json | None = None, **extra: object
) -> Json:
    """A final Observation taken at ``visit``; ``value`` is a valueQuantity."""
    resource: Json = {
        "resourceType": "Observation",
        "id": visit.person.next_id("obs"),
        "meta": SYNTHETIC_TAG,
        "status": "final",
        "category": category,
        "code": code,
        "subject": ref("Patient", visit.person.id),
        "encounter": ref("Encounter", visit.encounter_id),
        "effectiveDateTime": visit.start,
        "performer": [ref("Practitioner", visit.practitioner_id)],
    }
    if value is not None:
        resource["valueQuantity"] = value
    resource.update(extra)
    return resource


@dataclass(frozen=True, slots=True)
class Drug:
    atc: str
    name: str  # Vietnamese prescription line, e.g. "Amlodipin 5 mg"
    dose_text: str
    per_day: int
    days: int

    @property
    def code(self) -> Json:
        return concept(ATC, self.atc, self.name)


def medication_request(visit: Visit, drug: Drug, reason_id: str, *, active: bool) -> Json:
    return {
        "resourceType": "MedicationRequest",
        "id": visit.person.next_id("med"),
        "meta": SYNTHETIC_TAG,
        "status": "active" if active else "completed",
        "intent": "order",
        "medicationCodeableConcept": drug.code,
        "subject": ref("Patient", visit.person.id),
        "encounter": ref("Encounter", visit.encounter_id),
        "authoredOn": visit.start,
        "requester": ref("Practitioner", visit.practitioner_id),
        "reasonReference": [ref("Condition", reason_id)],
        "dosageInstruction": [
            {
                "text": drug.dose_text,
                "timing": {"repeat": {"frequency": drug.per_day, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "viên"}}],
            }
        ],
        "dispenseRequest": {
            "quantity": {"value": drug.per_day * drug.days, "unit": "viên"},
            "expectedSupplyDuration": quantity(drug.days, "days", "d"),
        },
    }
