"""Immunizations: national schedule ages, intervals, coverage and roll-out rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from yteso.synth import DEFAULT_AS_OF
from yteso.synth.immunizations import ROTAVIRUS_WAVES, session_on_or_after
from yteso.synth.reference import epi_schedule, provinces

AGE_DAYS = {(d.vaccine, d.dose): d.age_days for d in epi_schedule()}
ROTA_PROVINCES = frozenset().union(*(provinces for _, provinces in ROTAVIRUS_WAVES))


def children(
    resources: dict[str, list[dict]], low_months: int, high_months: int
) -> dict[str, dict]:
    """Patients aged [low, high) months at the end of the period, alive, by reference."""
    out = {}
    for patient in resources["Patient"]:
        months = (DEFAULT_AS_OF - date.fromisoformat(patient["birthDate"])).days / 30.44
        if low_months <= months < high_months and "deceasedDateTime" not in patient:
            out[f"Patient/{patient['id']}"] = patient
    return out


def doses_by_child(resources: dict[str, list[dict]]) -> dict[str, dict[tuple[str, int], str]]:
    given: dict[str, dict[tuple[str, int], str]] = defaultdict(dict)
    for imm in resources["Immunization"]:
        protocol = imm["protocolApplied"][0]
        key = (protocol["series"], protocol["doseNumberPositiveInt"])
        given[imm["patient"]["reference"]][key] = imm["occurrenceDateTime"][:10]
    return given


@pytest.mark.parametrize(
    ("series", "dose", "coverage"),
    # WUENIC-shaped targets (see scripts/generate_reference_tables.py), children 12-59 months
    [
        ("DTwP-HepB-Hib (5-in-1; ComBE Five/SII)", 3, 0.93 * 0.98),
        ("bOPV", 3, 0.93 * 0.98),
        ("monovalent measles (MVVAC)", 1, 0.91 * 0.98),
        ("BCG", 1, 0.95 * 0.98),
    ],
)
def test_coverage(
    resources: dict[str, list[dict]], series: str, dose: int, coverage: float
) -> None:
    cohort = children(resources, 15, 60)
    given = doses_by_child(resources)
    covered = sum((series, dose) in given.get(ref, {}) for ref in cohort)
    assert covered / len(cohort) == pytest.approx(coverage, abs=0.03)  # x0.98: zero-dose children


def test_no_dose_before_its_age_and_intervals_of_four_weeks(
    resources: dict[str, list[dict]],
) -> None:
    births = {
        f"Patient/{p['id']}": date.fromisoformat(p["birthDate"]) for p in resources["Patient"]
    }
    for child, doses in doses_by_child(resources).items():
        for (series, number), given in doses.items():
            age = (date.fromisoformat(given) - births[child]).days
            assert age >= AGE_DAYS[(series, number)]
            earlier = doses.get((series, number - 1))
            if earlier and series != "inactivated JE (Jevax)":
                assert (date.fromisoformat(given) - date.fromisoformat(earlier)).days >= 28


def test_most_doses_are_timely(resources: dict[str, list[dict]]) -> None:
    births = {
        f"Patient/{p['id']}": date.fromisoformat(p["birthDate"]) for p in resources["Patient"]
    }
    delays = sorted(
        (date.fromisoformat(d) - births[child]).days - AGE_DAYS[key]
        for child, doses in doses_by_child(resources).items()
        for key, d in doses.items()
        if key[0] == "DTwP-HepB-Hib (5-in-1; ComBE Five/SII)" and key[1] == 1
    )
    assert delays[len(delays) // 2] <= 31  # median: within a month (monthly sessions)
    assert delays[int(len(delays) * 0.95)] > 31  # but late families exist


def test_rotavirus_only_where_and_when_rolled_out(resources: dict[str, list[dict]]) -> None:
    patients = {f"Patient/{p['id']}": p for p in resources["Patient"]}
    rota = [
        i
        for i in resources["Immunization"]
        if i["protocolApplied"][0]["series"] == "oral Rotavin-M1"
    ]
    assert rota
    province_of_ward = {w.code: p.code for p in provinces() for w in p.wards}
    for imm in rota:
        patient = patients[imm["patient"]["reference"]]
        ward = patient["address"][0]["extension"][0]["valueCoding"]["code"]
        assert province_of_ward[ward] in ROTA_PROVINCES
        assert imm["occurrenceDateTime"][:10] >= "2024-08-01"


@pytest.mark.parametrize(
    ("day", "session_day", "expected"),
    [
        ("2025-03-10", 10, "2025-03-10"),
        ("2025-03-11", 10, "2025-04-10"),
        ("2025-12-20", 5, "2026-01-05"),
    ],
)
def test_monthly_session_day(day: str, session_day: int, expected: str) -> None:
    given = session_on_or_after(date.fromisoformat(day).toordinal(), session_day)
    assert date.fromordinal(given).isoformat() == expected
