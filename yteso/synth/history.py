"""A person's care history over the simulated period, step by step (order fixes the bytes)."""

from __future__ import annotations

from random import Random

from yteso.fhir.types import Json
from yteso.synth.acute import acute_episodes
from yteso.synth.chronic import chronic_care, draw_health
from yteso.synth.clinical import Visit, encounter
from yteso.synth.elements import concept
from yteso.synth.growth import growth_checks
from yteso.synth.immunizations import REGISTRY_START, immunizations
from yteso.synth.people import Person
from yteso.synth.records import electronic_records
from yteso.synth.surveillance import Surveillance
from yteso.synth.telehealth import telehealth

MEASLES_VACCINES = frozenset({"05", "04"})
IN_HOSPITAL_DEATH_SHARE = 0.4
EXPIRED = concept("http://terminology.hl7.org/CodeSystem/discharge-disposition", "exp", "Expired")


def care_history(
    person: Person, rng: Random, start: int, as_of: int, surveillance: Surveillance
) -> list[Json]:
    health = draw_health(person, rng, as_of)
    records: list[Json] = []
    condition_ids: list[str] = []
    if health.diagnosed_hypertension is not None or health.diagnosed_diabetes is not None:
        chronic, condition_ids = chronic_care(person, health, rng, start, as_of)
        records.extend(chronic)
    records.extend(acute_episodes(person, health, rng, start, as_of))
    records.extend(growth_checks(person, rng, start, as_of))
    vaccinations = immunizations(person, rng, as_of)
    records.extend(vaccinations)
    records.extend(
        surveillance.cases(person, rng, measles_immune(person, rng, vaccinations, as_of))
    )
    records.extend(telehealth(person, rng, condition_ids, as_of))
    if person.death is not None and rng.random() < IN_HOSPITAL_DEATH_SHARE:
        records.append(last_admission(person, rng, start))
    records.extend(electronic_records(person, records))
    return records


def measles_immune(person: Person, rng: Random, vaccinations: list[Json], as_of: int) -> bool:
    if person.age_at(as_of) >= 15:
        return True  # adults: past infection or vaccination
    if any(v["vaccineCode"]["coding"][0]["code"] in MEASLES_VACCINES for v in vaccinations):
        return rng.random() < 0.95  # one dose protects ~85-95%
    return person.birth < REGISTRY_START and rng.random() < 0.85


def last_admission(person: Person, rng: Random, start: int) -> Json:
    """The inpatient stay that ended with the person's death."""
    assert person.death is not None
    admitted = max(start, person.birth, person.death - 1 - int(rng.random() * 10))
    facility = person.provincial
    visit = Visit(
        person.next_id("enc"), person, facility,
        facility.practitioner_id(1 + int(rng.random() * facility.staff)),
        admitted, 420 + int(rng.random() * 600),
    )  # fmt: skip
    stay = encounter(visit, "IMP", "Điều trị nội trú", days=person.death - admitted)
    stay["hospitalization"] = {"dischargeDisposition": EXPIRED}
    return stay
