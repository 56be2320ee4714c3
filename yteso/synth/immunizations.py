"""Childhood immunizations following the national EPI schedule (Circular 10/2024/TT-BYT).

Each dose is due at its age in ``epi_schedule.json`` and given at the next monthly
vaccination session of the child's commune health station (each ward has its own session day
of the month), later for the ~15% of children whose families are late. Coverage per antigen
is that of the series' last dose: a child starts a series with a slightly higher probability
and some drop out between doses; ~2% of children get no vaccine at all. The hepatitis B birth
dose is given where the child was born, mostly within 24 hours.

Records start with the national immunization information system (mid-2017); Td at 7 years
and rotavirus come in with Circular 10/2024 (1 August 2024), rotavirus only in the provinces
of the first (late 2024) and second (2025) roll-out waves.
"""

from __future__ import annotations

from datetime import date
from itertools import groupby
from random import Random

from yteso.fhir.types import Json
from yteso.synth.elements import SYNTHETIC_TAG, instant, ref
from yteso.synth.people import Person
from yteso.synth.reference import EpiDose, epi_schedule

CVX = "http://hl7.org/fhir/sid/cvx"
REGISTRY_START = date(2017, 6, 1).toordinal()
ZERO_DOSE_SHARE = 0.02
LATE_FAMILY_SHARE = 0.15
DROPOUT = 0.04  # started a series but did not finish it
#: Rotavirus roll-out (2025 province codes; the lists are illustrative): from late 2024 in
#: 32 mountainous and remote (pre-2025) provinces, 9 more in 2025 (Ministry of Health via
#: daibieunhandan.vn).
ROTAVIRUS_WAVES = (
    (date(2024, 11, 1).toordinal(), frozenset({"04", "08", "11", "12", "14", "15", "19", "20",
                                              "25", "38", "40", "44", "51", "52", "66", "68"})),
    (date(2025, 7, 1).toordinal(), frozenset({"42", "46", "56", "86", "91", "92", "96"})),
)  # fmt: skip
VIETNAMESE_VACCINE_NAMES = {
    "08": "Vắc xin viêm gan B sơ sinh",
    "19": "Vắc xin BCG",
    "102": "Vắc xin 5 trong 1 (DPT-VGB-Hib)",
    "01": "Vắc xin DPT",
    "139": "Vắc xin Td",
    "178": "Vắc xin bại liệt uống (bOPV)",
    "10": "Vắc xin bại liệt tiêm (IPV)",
    "05": "Vắc xin sởi",
    "04": "Vắc xin sởi - rubella (MR)",
    "39": "Vắc xin viêm não Nhật Bản",
    "122": "Vắc xin Rota (Rotavin-M1)",
}


def series() -> list[tuple[str, list[EpiDose]]]:
    """The schedule grouped into series (one vaccine against one antigen), doses in order."""
    doses = sorted(epi_schedule(), key=lambda d: (d.vaccine, d.age_days, d.dose))
    return [(vaccine, list(group)) for vaccine, group in groupby(doses, key=lambda d: d.vaccine)]


SERIES = series()
LAST_DUE_DAYS = max(d.age_days for d in epi_schedule()) + 365


def session_on_or_after(ordinal: int, session_day: int) -> int:
    """The ward's monthly vaccination session on or after ``ordinal``."""
    when = date.fromordinal(ordinal)
    session = when.replace(day=session_day)
    if session < when:
        year, month = (when.year + 1, 1) if when.month == 12 else (when.year, when.month + 1)
        session = date(year, month, session_day)
    return session.toordinal()


def introduced_on(dose: EpiDose, province_code: str) -> int | None:
    """When the dose entered the schedule for this province (None: not there yet)."""
    if dose.antigen == "Rotavirus":
        for start, provinces in ROTAVIRUS_WAVES:
            if province_code in provinces:
                return start
        return None
    return date.fromisoformat(dose.introduced).toordinal()


def immunizations(person: Person, rng: Random, as_of: int) -> list[Json]:
    if person.birth + LAST_DUE_DAYS < REGISTRY_START or rng.random() < ZERO_DOSE_SHARE:
        return []
    late_family = rng.random() < LATE_FAMILY_SHARE
    session_day = 1 + int(person.ward.code) % 28
    out: list[Json] = []
    for _vaccine, doses in SERIES:
        coverage = doses[-1].coverage
        starts = min(1.0, coverage + DROPOUT) if len(doses) > 1 else coverage
        if rng.random() >= starts:
            continue
        keep_going = (coverage / starts) ** (1 / max(len(doses) - 1, 1))
        previous = person.birth
        for position, dose in enumerate(doses):
            if position and rng.random() >= keep_going:
                break
            due = max(person.birth + dose.age_days, previous + 28 if position else 0)
            given = _given_on(dose, person, rng, due, session_day, late_family)
            start = introduced_on(dose, person.province.code)
            if start is None or due < start:
                break
            if given > as_of or not person.alive_on(given):
                break
            previous = given
            if given >= REGISTRY_START:
                out.append(_immunization(person, rng, dose, given))
    return out


def _given_on(
    dose: EpiDose, person: Person, rng: Random, due: int, session_day: int, late: bool
) -> int:
    if dose.age_days == 0:  # birth dose in the maternity ward: 80% within 24 hours
        return due if rng.random() < 0.8 else due + 1 + int(rng.random() * 6)
    delay = int(rng.expovariate(1 / 40)) if late else int(rng.random() * 6)
    return session_on_or_after(due + delay, session_day)


def _immunization(person: Person, rng: Random, dose: EpiDose, given: int) -> Json:
    birth_dose = dose.age_days == 0
    facility = person.regional if birth_dose else person.station
    practitioner = facility.practitioner_id(1 + int(rng.random() * facility.staff))
    when = instant(given, 450 + int(rng.random() * 480))
    return {
        "resourceType": "Immunization",
        "id": person.next_id("imm"),
        "meta": SYNTHETIC_TAG,
        "status": "completed",
        "vaccineCode": {
            "coding": [{"system": CVX, "code": dose.cvx, "display": dose.cvx_display}],
            "text": VIETNAMESE_VACCINE_NAMES[dose.cvx],
        },
        "patient": ref("Patient", person.id),
        "occurrenceDateTime": when,
        "recorded": when,
        "primarySource": True,
        "location": ref("Location", facility.location_id),
        "performer": [{"actor": ref("Practitioner", practitioner)}],
        "lotNumber": f"VN{given % 97:02d}{dose.cvx}",
        "protocolApplied": [
            {
                "authority": ref("Organization", facility.organization_id),
                "series": dose.vaccine,
                "doseNumberPositiveInt": dose.dose,
            }
        ],
    }
