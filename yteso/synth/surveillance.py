"""Notifiable disease cases (Circular 54/2015/TT-BYT) with seasonality and injected outbreaks.

Background cases: dengue (all ages, rainy-season peak, later in the north), hand-foot-mouth
disease (children under 10, peaks in spring and autumn) and measles (rare, unvaccinated
children). Outbreaks are placed in active wards, chosen from the seed: a dengue cluster in the
rainy season, a hand-foot-mouth cluster in autumn and a measles cluster among children in
early 2025, each with an attack rate high enough to stand out from the background even in a
demo of a few thousand people. Each case is an Encounter and an encounter-diagnosis Condition
with the ICD-10 code (A90/A91 for dengue as Vietnamese systems send it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from random import Random

from yteso.fhir.types import Json
from yteso.synth.acute import facility_for
from yteso.synth.clinical import ENCOUNTER_DIAGNOSIS, ICD10, Visit, condition, encounter
from yteso.synth.elements import concept, day, instant
from yteso.synth.people import DAYS_PER_YEAR, Person
from yteso.synth.reference import Ward
from yteso.synth.sampling import WeightedChoice

DENGUE_FEVER = concept(ICD10, "A90", "Dengue fever [classical dengue]", "Sốt xuất huyết Dengue")
DENGUE_SEVERE = concept(
    ICD10, "A91", "Dengue haemorrhagic fever", "Sốt xuất huyết Dengue có dấu hiệu cảnh báo"
)
HFMD = concept(ICD10, "B08.4", "Enteroviral vesicular stomatitis with exanthem", "Tay chân miệng")
MEASLES = concept(ICD10, "B05.9", "Measles without complication", "Sởi")
#: Relative monthly incidence (January first).
NORTH_DENGUE = (0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.5, 2.5, 3.0, 2.0, 0.8)
SOUTH_DENGUE = (0.6, 0.4, 0.3, 0.3, 0.6, 1.2, 1.8, 2.0, 2.0, 1.8, 1.4, 1.0)
HFMD_MONTHS = (0.6, 0.6, 1.2, 1.4, 1.3, 0.8, 0.7, 0.8, 1.4, 1.5, 1.3, 0.9)
FLAT = (1.0,) * 12


@dataclass(frozen=True, slots=True)
class Disease:
    key: str
    yearly_rate: tuple[tuple[int, float], ...]  # (upper age, cases per person-year)
    months_north: tuple[float, ...]
    months_south: tuple[float, ...]


DISEASES = (
    Disease("dengue", ((5, 0.0008), (15, 0.0025), (35, 0.0025), (200, 0.0010)),
            NORTH_DENGUE, SOUTH_DENGUE),
    Disease("hfmd", ((5, 0.012), (10, 0.002), (200, 0.0)), HFMD_MONTHS, HFMD_MONTHS),
    Disease("measles", ((10, 0.00005), (200, 0.0)), FLAT, FLAT),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Outbreak:
    disease: str
    ward: Ward
    start: int  # ordinal
    days: int
    attack_rate: float  # share of residents in the target ages infected
    max_age: int

    def contains(self, ordinal: int) -> bool:
        return self.start <= ordinal < self.start + self.days


def plan_outbreaks(seed: int, people: int, wards: list[Ward]) -> list[Outbreak]:
    """A few outbreaks per disease (more for bigger populations), in active wards."""
    rng = Random(f"{seed}:outbreaks")  # noqa: S311 - reproducible test data, not secrets
    southern = [w for w in wards if w.province_code >= "44"] or wards
    per_disease = max(1, people // 200_000)
    outbreaks = []
    for _ in range(per_disease):
        outbreaks += [
            Outbreak("dengue", rng.choice(southern), date(2025, 8, 1).toordinal()
                     + int(rng.random() * 60), 45, 0.06, 200),
            Outbreak("hfmd", rng.choice(wards), date(2025, 9, 15).toordinal()
                     + int(rng.random() * 30), 42, 0.25, 10),
            Outbreak("measles", rng.choice(wards), date(2025, 1, 20).toordinal()
                     + int(rng.random() * 30), 60, 0.5, 15),
        ]  # fmt: skip
    return outbreaks


class Surveillance:
    """Draws each person's notifiable cases."""

    def __init__(self, outbreaks: list[Outbreak], start: int, as_of: int) -> None:
        self.start, self.as_of = start, as_of
        self.outbreaks: dict[str, list[Outbreak]] = {}
        for outbreak in outbreaks:
            self.outbreaks.setdefault(outbreak.ward.code, []).append(outbreak)
        self.months = {
            (d.key, region): WeightedChoice(range(12), weights)
            for d in DISEASES
            for region, weights in (("north", d.months_north), ("south", d.months_south))
        }

    def cases(self, person: Person, rng: Random, measles_immune: bool) -> list[Json]:
        out: list[Json] = []
        years = (self.as_of - self.start) / DAYS_PER_YEAR
        region = "south" if person.province.code >= "44" else "north"
        for disease in DISEASES:
            if disease.key == "measles" and measles_immune:
                continue
            rate = _rate(disease, person.age_at(self.as_of)) * years
            if rate and rng.random() < rate:
                out.extend(
                    self._case(
                        person, rng, disease.key, self._seasonal_day(rng, disease.key, region)
                    )
                )
        for outbreak in self.outbreaks.get(person.ward.code, ()):
            immune = outbreak.disease == "measles" and measles_immune
            age = person.age_at(outbreak.start)
            if not immune and 0 < age < outbreak.max_age and rng.random() < outbreak.attack_rate:
                onset = outbreak.start + int(rng.triangular(0, outbreak.days, outbreak.days / 3))
                out.extend(self._case(person, rng, outbreak.disease, onset))
        return out

    def _seasonal_day(self, rng: Random, key: str, region: str) -> int:
        month = self.months[(key, region)].pick(rng)
        years = int((self.as_of - self.start) / DAYS_PER_YEAR) + 1
        first = date.fromordinal(self.start)
        year = first.year + int(rng.random() * years)
        return date(year, month + 1, 1 + int(rng.random() * 28)).toordinal()

    def _case(self, person: Person, rng: Random, key: str, onset: int) -> list[Json]:
        seen = onset + 1 + int(rng.random() * 3)
        if not (self.start <= seen <= self.as_of and person.alive_on(seen)):
            return []
        severe = key == "dengue" and rng.random() < 0.2
        inpatient = severe or (key != "dengue" and rng.random() < 0.3)
        code = {
            "dengue": DENGUE_SEVERE if severe else DENGUE_FEVER,
            "hfmd": HFMD,
            "measles": MEASLES,
        }[key]
        facility = facility_for(person, "provincial" if inpatient else "station")
        visit = Visit(
            person.next_id("enc"), person, facility,
            facility.practitioner_id(1 + int(rng.random() * facility.staff)),
            seen, 420 + int(rng.random() * 600),
        )  # fmt: skip
        stay = 3 + int(rng.random() * 5) if inpatient else 0
        resolved = seen + 7 + int(rng.random() * 7)
        condition_id = person.next_id("cond")
        class_code = "IMP" if inpatient else "AMB"
        return [
            encounter(visit, class_code, "Khám bệnh truyền nhiễm", stay, diagnosis_id=condition_id),
            condition(
                condition_id, visit, code, category=ENCOUNTER_DIAGNOSIS, onset=day(onset),
                abated=instant(resolved, 600) if resolved <= self.as_of else None,
            ),
        ]  # fmt: skip


def _rate(disease: Disease, age: float) -> float:
    for upper, rate in disease.yearly_rate:
        if age < upper:
            return rate
    return 0.0
