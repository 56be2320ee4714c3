"""Acute illness: respiratory infections, diarrhoea, gastritis, back pain, pneumonia, stroke...

Each episode is an Encounter at the facility level its severity calls for, a resolved
encounter-diagnosis Condition (ICD-10), a temperature when there is fever, a blood pressure
for adults (raised when the person has hypertension, diagnosed or not) and a prescription.
Rates and case mix are rough primary-care shapes, not a published table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from yteso.fhir.types import Json
from yteso.synth.chronic import Health, blood_pressure
from yteso.synth.clinical import (
    ENCOUNTER_DIAGNOSIS,
    ICD10,
    LOINC,
    VITAL_SIGNS,
    Drug,
    Visit,
    condition,
    encounter,
    medication_request,
    observation,
    quantity,
)
from yteso.synth.elements import concept, day, instant
from yteso.synth.facilities import Facility
from yteso.synth.people import DAYS_PER_YEAR, Person
from yteso.synth.sampling import WeightedChoice

#: (upper age, episodes per year)
EPISODES_PER_YEAR = ((5, 2.5), (15, 1.2), (60, 0.8), (200, 1.5))
BODY_TEMPERATURE = concept(LOINC, "8310-5", "Body temperature")
PARACETAMOL = Drug("N02BE01", "Paracetamol 500 mg", "Uống 1 viên khi sốt, cách 6 giờ", 3, 3)
AMOXICILLIN = Drug("J01CA04", "Amoxicilin 500 mg", "Uống 1 viên x 3 lần/ngày", 3, 7)
ORS = Drug("A07CA", "Oresol 245", "Pha 1 gói với 200 ml nước, uống sau mỗi lần đi ngoài", 3, 3)
OMEPRAZOLE = Drug("A02BC01", "Omeprazol 20 mg", "Uống 1 viên trước ăn sáng", 1, 14)
MELOXICAM = Drug("M01AC06", "Meloxicam 7,5 mg", "Uống 1 viên/ngày sau ăn", 1, 7)
ASPIRIN = Drug("B01AC06", "Aspirin 81 mg", "Uống 1 viên/ngày", 1, 30)


@dataclass(frozen=True, slots=True)
class Illness:
    code: str
    display: str
    text: str
    fever: bool
    level: str  # station | regional | provincial | central
    inpatient_share: float
    days_to_resolve: int
    drug: Drug


URTI = Illness(
    "J06.9",
    "Acute upper respiratory infection, unspecified",
    "Viêm đường hô hấp trên cấp",
    True,
    "station",
    0.0,
    7,
    PARACETAMOL,
)
PHARYNGITIS = Illness(
    "J02.9", "Acute pharyngitis, unspecified", "Viêm họng cấp", True, "station", 0.0, 7, AMOXICILLIN
)
BRONCHITIS = Illness(
    "J20.9",
    "Acute bronchitis, unspecified",
    "Viêm phế quản cấp",
    True,
    "station",
    0.0,
    14,
    AMOXICILLIN,
)
PNEUMONIA = Illness(
    "J18.9", "Pneumonia, unspecified", "Viêm phổi", True, "regional", 0.4, 14, AMOXICILLIN
)
DIARRHOEA = Illness(
    "A09",
    "Diarrhoea and gastroenteritis of presumed infectious origin",
    "Tiêu chảy, viêm dạ dày ruột",
    False,
    "station",
    0.05,
    5,
    ORS,
)
OTITIS = Illness(
    "H66.9", "Otitis media, unspecified", "Viêm tai giữa", True, "regional", 0.0, 10, AMOXICILLIN
)
GASTRITIS = Illness(
    "K29.7", "Gastritis, unspecified", "Viêm dạ dày", False, "station", 0.0, 21, OMEPRAZOLE
)
BACK_PAIN = Illness("M54.5", "Low back pain", "Đau thắt lưng", False, "station", 0.0, 14, MELOXICAM)
KNEE_ARTHROSIS = Illness(
    "M17.9",
    "Gonarthrosis, unspecified",
    "Thoái hóa khớp gối",
    False,
    "regional",
    0.0,
    60,
    MELOXICAM,
)
UTI = Illness(
    "N39.0",
    "Urinary tract infection, site not specified",
    "Nhiễm khuẩn tiết niệu",
    True,
    "station",
    0.0,
    7,
    AMOXICILLIN,
)
STROKE = Illness(
    "I63.9",
    "Cerebral infarction, unspecified",
    "Nhồi máu não",
    False,
    "provincial",
    1.0,
    90,
    ASPIRIN,
)

CASE_MIX = {
    "child": WeightedChoice(
        [URTI, PHARYNGITIS, BRONCHITIS, PNEUMONIA, DIARRHOEA, OTITIS], [40, 10, 10, 6, 15, 6]
    ),
    "adult": WeightedChoice(
        [URTI, PHARYNGITIS, BRONCHITIS, PNEUMONIA, DIARRHOEA, GASTRITIS, BACK_PAIN, UTI],
        [30, 10, 8, 3, 8, 12, 10, 6],
    ),
    "elderly": WeightedChoice(
        [URTI, BRONCHITIS, PNEUMONIA, GASTRITIS, BACK_PAIN, KNEE_ARTHROSIS, UTI, STROKE],
        [20, 12, 10, 10, 10, 12, 6, 3],
    ),
}


def poisson(rng: Random, mean: float) -> int:
    """Knuth's method; means here are small (< 10)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def rate_for_age(age: float) -> float:
    for upper, rate in EPISODES_PER_YEAR:
        if age < upper:
            return rate
    return EPISODES_PER_YEAR[-1][1]


def facility_for(person: Person, level: str) -> Facility:
    return {
        "station": person.station,
        "regional": person.regional,
        "provincial": person.provincial,
        "central": person.central,
    }[level]


def acute_episodes(
    person: Person, health: Health, rng: Random, start: int, as_of: int
) -> list[Json]:
    first = max(start, person.birth + 30)
    if first >= as_of:
        return []
    years = (as_of - first) / DAYS_PER_YEAR
    out: list[Json] = []
    episodes = sorted(
        first + int(rng.random() * (as_of - first))
        for _ in range(poisson(rng, rate_for_age(person.age_at(as_of)) * years))
    )
    for ordinal in episodes:
        if person.alive_on(ordinal):
            out.extend(_episode(person, health, rng, ordinal, as_of))
    return out


def _episode(person: Person, health: Health, rng: Random, ordinal: int, as_of: int) -> list[Json]:
    age = person.age_at(ordinal)
    mix = CASE_MIX["child" if age < 15 else "adult" if age < 60 else "elderly"]
    illness: Illness = mix.pick(rng)
    inpatient = rng.random() < illness.inpatient_share
    level = illness.level
    if inpatient and level == "regional":
        level = "provincial" if rng.random() < 0.5 else "regional"
    if level == "provincial" and rng.random() < 0.15:
        level = "central"
    facility = facility_for(person, level)
    visit = Visit(
        person.next_id("enc"), person, facility,
        facility.practitioner_id(1 + int(rng.random() * facility.staff)),
        ordinal, 420 + int(rng.random() * 600),
    )  # fmt: skip
    stay = 3 + int(rng.random() * 7) if inpatient else 0
    type_text = "Điều trị nội trú" if inpatient else "Khám bệnh ngoại trú"
    condition_id = person.next_id("cond")
    records = [
        encounter(visit, "IMP" if inpatient else "AMB", type_text, stay, diagnosis_id=condition_id)
    ]
    resolved = ordinal + illness.days_to_resolve
    records.append(
        condition(
            condition_id, visit, concept(ICD10, illness.code, illness.display, illness.text),
            category=ENCOUNTER_DIAGNOSIS, onset=day(ordinal - 1 - int(rng.random() * 3)),
            abated=instant(resolved, 600) if resolved <= as_of else None,
        )
    )  # fmt: skip
    if illness.fever:
        celsius = round(37.8 + rng.random() * 1.6, 1)
        records.append(
            observation(visit, VITAL_SIGNS, BODY_TEMPERATURE, quantity(celsius, "°C", "Cel"))
        )
    if age >= 18 and rng.random() < 0.6:
        records.append(blood_pressure(visit, health, rng, 0))
    records.append(medication_request(visit, illness.drug, condition_id, active=False))
    return records
