"""Chronic care: hypertension and type 2 diabetes with follow-up visits, blood pressure and
glucose that track each person's disease and treatment, and repeat prescriptions.

Prevalence by age is shaped so that ages 25-64 match WHO STEPS 2020/21 for Viet Nam
(hypertension 28.3%, raised blood glucose 7.0%); about 60% of those are diagnosed and get a
Condition and follow-up care at their commune health station (sometimes the regional
hospital). Undiagnosed people show raised readings when measured at other visits.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from yteso.fhir.types import Json
from yteso.synth.clinical import (
    ICD10,
    LABORATORY,
    LOINC,
    PROBLEM_LIST,
    VITAL_SIGNS,
    Drug,
    Visit,
    condition,
    encounter,
    medication_request,
    observation,
    quantity,
)
from yteso.synth.elements import concept, day
from yteso.synth.people import DAYS_PER_YEAR, Person

#: (upper age, share) — raised blood pressure / raised fasting glucose by age.
HYPERTENSION_BY_AGE = ((18, 0.0), (25, 0.03), (35, 0.10), (45, 0.22), (55, 0.38), (65, 0.52),
                       (200, 0.60))  # fmt: skip
DIABETES_BY_AGE = ((18, 0.0), (25, 0.005), (35, 0.02), (45, 0.05), (55, 0.09), (65, 0.15),
                   (200, 0.18))  # fmt: skip
DIAGNOSED_SHARE = 0.6
FOLLOW_UP_DAYS = 90

HYPERTENSION = concept(ICD10, "I10", "Essential (primary) hypertension", "Tăng huyết áp vô căn")
DIABETES = concept(
    ICD10, "E11.9", "Type 2 diabetes mellitus without complications", "Đái tháo đường type 2"
)
BP_PANEL = concept(LOINC, "85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = concept(LOINC, "8480-6", "Systolic blood pressure")
DIASTOLIC = concept(LOINC, "8462-4", "Diastolic blood pressure")
FASTING_GLUCOSE = concept(LOINC, "14771-0", "Fasting glucose [Moles/volume] in Serum or Plasma")
AMLODIPINE = Drug("C08CA01", "Amlodipin 5 mg", "Uống 1 viên/ngày, buổi sáng", 1, 30)
LOSARTAN = Drug("C09CA01", "Losartan 50 mg", "Uống 1 viên/ngày", 1, 30)
METFORMIN = Drug("A10BA02", "Metformin 500 mg", "Uống 1 viên x 2 lần/ngày, sau ăn", 2, 30)


def share_for_age(table: tuple[tuple[int, float], ...], age: float) -> float:
    for upper, share in table:
        if age < upper:
            return share
    return table[-1][1]


@dataclass(slots=True)
class Health:
    """A person's hidden health state, from which every reading is drawn."""

    hypertension: bool = False
    diabetes: bool = False
    diagnosed_hypertension: int | None = None  # ordinal of diagnosis
    diagnosed_diabetes: int | None = None
    systolic_base: float = 118.0
    glucose_base: float = 5.1


def draw_health(person: Person, rng: Random, as_of: int) -> Health:
    age = person.age_at(as_of)
    health = Health(
        systolic_base=108 + 0.3 * age + rng.gauss(0, 8), glucose_base=5.0 + rng.gauss(0, 0.35)
    )
    if rng.random() < share_for_age(HYPERTENSION_BY_AGE, age):
        health.hypertension = True
        health.systolic_base = 148 + rng.gauss(0, 9)
        if rng.random() < DIAGNOSED_SHARE:
            health.diagnosed_hypertension = _diagnosis_day(person, rng, as_of)
    if rng.random() < share_for_age(DIABETES_BY_AGE, age):
        health.diabetes = True
        health.glucose_base = 9.0 + rng.gauss(0, 1.3)
        if rng.random() < DIAGNOSED_SHARE:
            health.diagnosed_diabetes = _diagnosis_day(person, rng, as_of)
    return health


def _diagnosis_day(person: Person, rng: Random, as_of: int) -> int:
    adult_days = int((person.age_at(as_of) - 18) * DAYS_PER_YEAR)
    return as_of - int(rng.random() * min(adult_days, 12 * DAYS_PER_YEAR))


def blood_pressure(visit: Visit, health: Health, rng: Random, treated_visits: int) -> Json:
    """Systolic falls by up to ~14 mmHg over the first few treated visits."""
    systolic = health.systolic_base - min(treated_visits, 4) * 3.5 + rng.gauss(0, 7)
    diastolic = 0.55 * systolic + 12 + rng.gauss(0, 5)
    return observation(
        visit,
        VITAL_SIGNS,
        BP_PANEL,
        component=[
            {"code": SYSTOLIC, "valueQuantity": quantity(round(systolic), "mmHg", "mm[Hg]")},
            {"code": DIASTOLIC, "valueQuantity": quantity(round(diastolic), "mmHg", "mm[Hg]")},
        ],
    )


def glucose(visit: Visit, health: Health, rng: Random, treated_visits: int) -> Json:
    value = health.glucose_base - min(treated_visits, 3) * 0.6 * health.diabetes + rng.gauss(0, 0.5)
    return observation(
        visit, LABORATORY, FASTING_GLUCOSE, quantity(round(max(value, 3.5), 1), "mmol/L", "mmol/L")
    )


def chronic_care(
    person: Person, health: Health, rng: Random, start: int, as_of: int
) -> tuple[list[Json], list[str]]:
    """Diagnosis, then a follow-up visit about every 90 days until the end (or death).

    Returns the records and the ids of the problem-list Conditions."""
    first = min(
        d for d in (health.diagnosed_hypertension, health.diagnosed_diabetes) if d is not None
    )
    out: list[Json] = []
    condition_ids: dict[str, str] = {}
    visit_day = first if first >= start else start + int(rng.random() * FOLLOW_UP_DAYS)
    treated = 0
    while visit_day <= as_of and person.alive_on(visit_day):
        facility = person.station if rng.random() < 0.85 else person.regional
        visit = Visit(
            person.next_id("enc"), person, facility,
            facility.practitioner_id(1 + int(rng.random() * facility.staff)),
            visit_day, 420 + int(rng.random() * 540),
        )  # fmt: skip
        out.append(encounter(visit, "AMB", "Khám và cấp thuốc bệnh mạn tính"))
        out.extend(_diagnoses(visit, health, condition_ids))
        out.append(blood_pressure(visit, health, rng, treated))
        if "diabetes" in condition_ids:
            out.append(glucose(visit, health, rng, treated))
        last = visit_day + FOLLOW_UP_DAYS > as_of
        for key, drugs in (("hypertension", (AMLODIPINE, LOSARTAN)), ("diabetes", (METFORMIN,))):
            if key in condition_ids:
                drug = drugs[1] if len(drugs) > 1 and health.systolic_base > 155 else drugs[0]
                out.append(medication_request(visit, drug, condition_ids[key], active=last))
        treated += 1
        visit_day += FOLLOW_UP_DAYS + int(rng.gauss(0, 10))
    return out, list(condition_ids.values())


def _diagnoses(visit: Visit, health: Health, condition_ids: dict[str, str]) -> list[Json]:
    """Problem-list Conditions for the diseases diagnosed by this visit, once each."""
    out = []
    for key, diagnosed, code in (
        ("hypertension", health.diagnosed_hypertension, HYPERTENSION),
        ("diabetes", health.diagnosed_diabetes, DIABETES),
    ):
        if diagnosed is not None and diagnosed <= visit.ordinal and key not in condition_ids:
            condition_ids[key] = visit.person.next_id("cond")
            out.append(
                condition(
                    condition_ids[key], visit, code, category=PROBLEM_LIST, onset=day(diagnosed)
                )
            )
    return out
