"""The synthetic population: where people live, and each household with its members' records.

Small populations are concentrated in a sample of wards (about 250 people per active ward, at
least one ward per province) so that a demo of a few thousand people still has busy commune
health stations; from about 830,000 people on, every one of the 3,321 wards is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from random import Random

from yteso.fhir.types import Json
from yteso.synth.duplicates import answer_row, duplicate_patient
from yteso.synth.facilities import CareNetwork, Facility, build_network, facility_resources
from yteso.synth.history import care_history
from yteso.synth.identifiers import weighted_prefix_pool
from yteso.synth.names import NameSampler
from yteso.synth.people import (
    BIRTH_PROVINCE_STAYERS,
    DAYS_PER_YEAR,
    HOUSEHOLD_SIZES,
    INSURED_SHARE,
    Person,
    address_line,
    annual_mortality,
    assign_phone,
    household_resource,
    patient_resource,
)
from yteso.synth.reference import Province, Ward, population_tables, provinces
from yteso.synth.sampling import WeightedChoice
from yteso.synth.surveillance import Surveillance, plan_outbreaks

DEFAULT_AS_OF = date(2026, 6, 30)
HISTORY_YEARS = 3
PEOPLE_PER_ACTIVE_WARD = 250
ADULT_AGE = 18
MAX_CHILDREN_JOINING = 3


@dataclass(frozen=True, slots=True)
class Timeline:
    """The simulated period: care history runs from ``start`` to ``as_of`` (ordinals)."""

    as_of: int
    start: int

    @classmethod
    def ending(cls, as_of: date, years: int = HISTORY_YEARS) -> Timeline:
        end = as_of.toordinal()
        return cls(end, end - int(years * DAYS_PER_YEAR))


@dataclass(slots=True)
class Household:
    id: str
    members: list[Person]
    resources: list[Json] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # duplicates-answer.csv rows


def active_wards(people: int, seed: int) -> dict[str, tuple[Ward, ...]]:
    """Per province, the wards where this population lives."""
    all_provinces = provinces()
    total_wards = sum(len(p.wards) for p in all_provinces)
    wanted = min(total_wards, max(len(all_provinces), people // PEOPLE_PER_ACTIVE_WARD))
    total_pop = sum(p.population_thousands for p in all_provinces)
    rng = Random(f"{seed}:wards")  # noqa: S311 - reproducible test data, not secrets
    chosen: dict[str, tuple[Ward, ...]] = {}
    for province in all_provinces:
        share = round(wanted * province.population_thousands / total_pop)
        count = min(len(province.wards), max(1, share))
        if wanted == total_wards:
            count = len(province.wards)
        picked = rng.sample(province.wards, count)
        chosen[province.code] = tuple(sorted(picked, key=lambda w: w.code))
    return chosen


class Population:
    """Everything shared while generating: tables, facilities, timeline, random stream."""

    def __init__(
        self, people: int, seed: int, *, as_of: date = DEFAULT_AS_OF, duplicates: float = 0.0
    ) -> None:
        if not 0.0 <= duplicates <= 1.0:
            raise ValueError("duplicates must be a share between 0 and 1")
        self.people = people
        self.duplicates = duplicates
        # A stream of its own, so that adding duplicates leaves everyone else byte-identical.
        self.duplicate_rng = Random(f"{seed}:duplicates")  # noqa: S311
        self.seed = seed
        self.timeline = Timeline.ending(as_of)
        self.rng = Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self.salt = Random(f"{seed}:salt").randrange(1_000_000)  # noqa: S311
        self.names = NameSampler()
        self.network: CareNetwork = build_network(provinces())
        self.wards = active_wards(people, seed)
        living = [p for p in provinces() if self.wards[p.code]]
        self.province_choice = WeightedChoice(living, [p.population_thousands for p in living])
        tables = population_tables()
        self.age_band = WeightedChoice(range(18), tables["age_bands_percent"])
        self.male_share: list[float] = tables["male_share_by_band"]
        self.household_size = WeightedChoice(*zip(*HOUSEHOLD_SIZES, strict=True))
        self.phone_prefixes = weighted_prefix_pool()
        self.all_prefixes = [prefix for p in provinces() for prefix in p.cccd_prefixes]
        active = [ward for wards in self.wards.values() for ward in wards]
        self.outbreaks = plan_outbreaks(seed, people, active)
        self.surveillance = Surveillance(self.outbreaks, self.timeline.start, self.timeline.as_of)

    def facilities(self) -> list[Facility]:
        """Facilities serving the active wards, plus every provincial and central hospital."""
        seen: dict[str, Facility] = {}
        for group in self.network.central.values():
            seen.update((f.code, f) for f in group)
        seen.update((f.code, f) for f in self.network.provincial.values())
        for wards in self.wards.values():
            for ward in wards:
                for facility in (self.network.regional[ward.code], self.network.station[ward.code]):
                    seen[facility.code] = facility
        return [seen[code] for code in sorted(seen)]

    def facility_resources(self) -> Iterator[Json]:
        for facility in self.facilities():
            yield from facility_resources(facility, self.seed, self.names)

    def households(self) -> Iterator[Household]:
        """Households in order; children drawn without an adult join the next household that
        has one, so every household has an adult and the age pyramid is kept exactly."""
        index = number = 0
        waiting: list[tuple[int, float]] = []  # (age band, years) of children without an adult
        while index < self.people:
            remaining = self.people - index - len(waiting)
            size = min(self.household_size.pick(self.rng), remaining)
            ages = [self._age() for _ in range(size)]
            if remaining > size and all(years < ADULT_AGE for _, years in ages):
                waiting.extend(ages)
                continue
            ages += waiting[:MAX_CHILDREN_JOINING]
            del waiting[:MAX_CHILDREN_JOINING]
            if remaining == size:  # the last household takes whoever is left
                ages += waiting
                waiting.clear()
            number += 1
            yield self._household(f"hh-{number}", index, ages)
            index += len(ages)

    def _age(self) -> tuple[int, float]:
        band = self.age_band.pick(self.rng)
        return band, band * 5 + self.rng.random() * (5 if band < 17 else 15)

    def _household(
        self, household_id: str, first_index: int, ages: list[tuple[int, float]]
    ) -> Household:
        rng = self.rng
        province: Province = self.province_choice.pick(rng)
        wards = self.wards[province.code]
        ward = wards[int(rng.random() * len(wards))]
        line = address_line(rng, ward)
        family = self.names.family(rng, province.code)
        members = [
            self._person(first_index + k, household_id, province, ward, line, family, band, years)
            for k, (band, years) in enumerate(ages)
        ]
        members.sort(key=lambda p: (p.birth, p.index))
        household = Household(household_id, members)
        as_of = self.timeline.as_of
        for person in members:
            patient = patient_resource(person, rng, as_of, self.salt)
            household.resources.append(patient)
            if self.duplicates and self.duplicate_rng.random() < self.duplicates:
                self._register_again(household, person, patient)
        household.resources.append(household_resource(household_id, members))
        start = self.timeline.start
        for person in members:
            records = care_history(person, rng, start, as_of, self.surveillance)
            household.resources.extend(records)
        return household

    def _register_again(self, household: Household, person: Person, patient: Json) -> None:
        twin, noise = duplicate_patient(
            patient, person, self.duplicate_rng, self.salt, self.phone_prefixes
        )
        household.resources.append(twin)
        household.answers.append(answer_row(twin, patient, noise))

    def _person(
        self,
        index: int,
        household_id: str,
        province: Province,
        ward: Ward,
        line: str,
        family: str,
        band: int,
        years: float,
    ) -> Person:
        rng = self.rng
        birth = self.timeline.as_of - int(years * DAYS_PER_YEAR)
        sex = "male" if rng.random() < self.male_share[band] else "female"
        birth_year = date.fromordinal(birth).year
        if sex == "female" and years >= 20 and rng.random() < 0.6:
            family = self.names.family(rng, province.code)
        if rng.random() < BIRTH_PROVINCE_STAYERS:
            prefix = province.cccd_prefixes[int(rng.random() * len(province.cccd_prefixes))]
        else:
            prefix = self.all_prefixes[int(rng.random() * len(self.all_prefixes))]
        station, regional, provincial, central = self.network.for_ward(ward)
        person = Person(
            id=f"pat-{index + 1}",
            index=index,
            sex=sex,
            birth=birth,
            name=self.names.person(rng, sex, birth_year, family),
            ward=ward,
            province=province,
            station=station,
            regional=regional,
            provincial=provincial,
            central=central,
            household_id=household_id,
            address_line=line,
            birth_prefix=prefix,
            insured=rng.random() < INSURED_SHARE,
        )
        assign_phone(person, rng, self.timeline.as_of, self.phone_prefixes)
        self._maybe_die(person, rng)
        return person

    def _maybe_die(self, person: Person, rng: Random) -> None:
        start = max(self.timeline.start, person.birth)
        years = (self.timeline.as_of - start) / DAYS_PER_YEAR
        risk = 1.0 - (1.0 - annual_mortality(person.age_at(self.timeline.as_of))) ** years
        if rng.random() < risk:
            person.death = start + int(rng.random() * (self.timeline.as_of - start))
