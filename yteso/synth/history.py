"""A person's care history over the simulated period, step by step (order fixes the bytes)."""

from __future__ import annotations

from random import Random

from yteso.fhir.types import Json
from yteso.synth.acute import acute_episodes
from yteso.synth.chronic import chronic_care, draw_health
from yteso.synth.growth import growth_checks
from yteso.synth.immunizations import immunizations
from yteso.synth.people import Person


def care_history(person: Person, rng: Random, start: int, as_of: int) -> list[Json]:
    health = draw_health(person, rng, as_of)
    records: list[Json] = []
    if health.diagnosed_hypertension is not None or health.diagnosed_diabetes is not None:
        records.extend(chronic_care(person, health, rng, start, as_of))
    records.extend(acute_episodes(person, health, rng, start, as_of))
    records.extend(growth_checks(person, rng, start, as_of))
    records.extend(immunizations(person, rng, as_of))
    return records
