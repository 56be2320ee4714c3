"""Growth monitoring of children under six: weight, height and BMI every six months.

Medians follow the WHO Child Growth Standards (rounded, sexes pooled); each child keeps a
personal percentile (a z-like factor) so that successive measurements form a plausible curve.
"""

from __future__ import annotations

from bisect import bisect_right
from random import Random

from yteso.fhir.types import Json
from yteso.synth.clinical import LOINC, VITAL_SIGNS, Visit, encounter, observation, quantity
from yteso.synth.elements import concept
from yteso.synth.people import Person

#: (age in months, median weight kg, median height cm)
WHO_MEDIANS = (
    (0, 3.3, 49.9), (3, 6.0, 61.0), (6, 7.6, 66.8), (9, 8.6, 71.3), (12, 9.4, 75.3),
    (18, 10.8, 81.5), (24, 12.1, 87.0), (36, 14.2, 95.5), (48, 16.2, 102.9), (60, 18.2, 109.6),
    (72, 20.4, 115.8),
)  # fmt: skip
_MONTHS = [row[0] for row in WHO_MEDIANS]
CHECK_EVERY_DAYS = 182
UNDER_AGE_DAYS = 6 * 365
BODY_WEIGHT = concept(LOINC, "29463-7", "Body weight")
BODY_HEIGHT = concept(LOINC, "8302-2", "Body height")
BMI = concept(LOINC, "39156-5", "Body mass index (BMI) [Ratio]")


def median_at(months: float) -> tuple[float, float]:
    """Linear interpolation of the median weight and height at an age in months."""
    index = min(bisect_right(_MONTHS, months), len(WHO_MEDIANS) - 1)
    low, high = WHO_MEDIANS[index - 1], WHO_MEDIANS[index]
    fraction = min(max((months - low[0]) / (high[0] - low[0]), 0.0), 1.0)
    weight = low[1] + fraction * (high[1] - low[1])
    height = low[2] + fraction * (high[2] - low[2])
    return weight, height


def growth_checks(person: Person, rng: Random, start: int, as_of: int) -> list[Json]:
    if as_of - person.birth > UNDER_AGE_DAYS + (as_of - start):
        return []
    weight_factor = 1 + 0.11 * (rng.gauss(0, 1) - 0.3)  # slightly below WHO median on average
    height_factor = 1 + 0.035 * (rng.gauss(0, 1) - 0.4)
    out: list[Json] = []
    ordinal = person.birth + 30
    while ordinal < start:
        ordinal += CHECK_EVERY_DAYS
    while ordinal <= min(as_of, person.birth + UNDER_AGE_DAYS) and person.alive_on(ordinal):
        months = (ordinal - person.birth) / 30.44
        weight, height = median_at(months)
        weight = round(weight * weight_factor * (1 + rng.gauss(0, 0.02)), 1)
        height = round(height * height_factor, 1)
        facility = person.station
        visit = Visit(
            person.next_id("enc"), person, facility,
            facility.practitioner_id(1 + int(rng.random() * facility.staff)),
            ordinal, 450 + int(rng.random() * 480),
        )  # fmt: skip
        out.append(encounter(visit, "AMB", "Theo dõi tăng trưởng trẻ em", minutes=10))
        out.append(observation(visit, VITAL_SIGNS, BODY_WEIGHT, quantity(weight, "kg", "kg")))
        out.append(observation(visit, VITAL_SIGNS, BODY_HEIGHT, quantity(height, "cm", "cm")))
        bmi = round(weight / (height / 100) ** 2, 1)
        out.append(observation(visit, VITAL_SIGNS, BMI, quantity(bmi, "kg/m2", "kg/m2")))
        ordinal += CHECK_EVERY_DAYS + int(rng.random() * 20)
    return out
