"""Care records: prevalence, readings that track conditions, dates inside each life."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from statistics import mean

import pytest

from yteso.synth import DEFAULT_AS_OF
from yteso.synth.growth import median_at
from yteso.synth.population import Timeline

WINDOW = Timeline.ending(DEFAULT_AS_OF)


def patient_ages(resources: dict[str, list[dict]]) -> dict[str, float]:
    return {
        f"Patient/{p['id']}": (DEFAULT_AS_OF - date.fromisoformat(p["birthDate"])).days / 365.2425
        for p in resources["Patient"]
    }


def with_code(resources: dict[str, list[dict]], code: str) -> set[str]:
    return {
        c["subject"]["reference"]
        for c in resources["Condition"]
        if c["code"]["coding"][0]["code"] == code
    }


def systolic(observation: dict) -> float:
    return observation["component"][0]["valueQuantity"]["value"]


@pytest.mark.parametrize(
    ("code", "percent", "tolerance"),
    # STEPS 2020/21 (ages 25-64) x the 60% diagnosed share
    [("I10", 28.3 * 0.6, 2.5), ("E11.9", 7.0 * 0.6, 1.2)],
)
def test_diagnosed_chronic_prevalence(
    resources: dict[str, list[dict]], code: str, percent: float, tolerance: float
) -> None:
    ages = patient_ages(resources)
    adults = {ref for ref, age in ages.items() if 25 <= age < 65}
    # onset inside the person's life: diagnosed before the end of the period
    share = 100 * len(with_code(resources, code) & adults) / len(adults)
    assert share == pytest.approx(percent, abs=tolerance)


def test_blood_pressure_tracks_hypertension(small_resources: dict[str, list[dict]]) -> None:
    hypertensive = with_code(small_resources, "I10")
    readings: dict[bool, list[float]] = defaultdict(list)
    for obs in small_resources["Observation"]:
        if obs["code"]["coding"][0]["code"] == "85354-9":
            readings[obs["subject"]["reference"] in hypertensive].append(systolic(obs))
    assert mean(readings[True]) - mean(readings[False]) > 10  # undiagnosed people are in both
    assert all(60 <= value <= 230 for values in readings.values() for value in values)


def test_glucose_tracks_diabetes(small_resources: dict[str, list[dict]]) -> None:
    diabetic = with_code(small_resources, "E11.9")
    values = [
        o["valueQuantity"]["value"]
        for o in small_resources["Observation"]
        if o["code"]["coding"][0]["code"] == "14771-0"
    ]
    assert values and all(o_ref in diabetic for o_ref in [
        o["subject"]["reference"] for o in small_resources["Observation"]
        if o["code"]["coding"][0]["code"] == "14771-0"
    ])  # fmt: skip
    assert 6.0 < mean(values) < 10.0


def test_child_growth_follows_who_medians(small_resources: dict[str, list[dict]]) -> None:
    births = {
        f"Patient/{p['id']}": date.fromisoformat(p["birthDate"]) for p in small_resources["Patient"]
    }
    ratios = []
    for obs in small_resources["Observation"]:
        if obs["code"]["coding"][0]["code"] == "29463-7":
            taken = date.fromisoformat(obs["effectiveDateTime"][:10])
            months = (taken - births[obs["subject"]["reference"]]).days / 30.44
            ratios.append(obs["valueQuantity"]["value"] / median_at(months)[0])
    assert len(ratios) > 100
    assert 0.9 < mean(ratios) < 1.02


def test_bmi_matches_weight_and_height(small_resources: dict[str, list[dict]]) -> None:
    by_encounter: dict[str, dict[str, float]] = defaultdict(dict)
    for obs in small_resources["Observation"]:
        code = obs["code"]["coding"][0]["code"]
        if code in {"29463-7", "8302-2", "39156-5"}:
            by_encounter[obs["encounter"]["reference"]][code] = obs["valueQuantity"]["value"]
    for values in by_encounter.values():
        expected = values["29463-7"] / (values["8302-2"] / 100) ** 2
        assert values["39156-5"] == pytest.approx(expected, abs=0.06)


def test_encounters_fall_inside_the_period_and_each_life(
    small_resources: dict[str, list[dict]],
) -> None:
    patients = {f"Patient/{p['id']}": p for p in small_resources["Patient"]}
    first, last = date.fromordinal(WINDOW.start).isoformat(), DEFAULT_AS_OF.isoformat()
    for enc in small_resources["Encounter"]:
        start = enc["period"]["start"]
        patient = patients[enc["subject"]["reference"]]
        assert first <= start[:10] <= last
        assert patient["birthDate"] <= start[:10]
        if "deceasedDateTime" in patient:
            assert start[:10] <= patient["deceasedDateTime"][:10]
        assert enc["period"]["end"] >= start


def test_every_prescription_has_a_reason_and_encounter(
    small_resources: dict[str, list[dict]],
) -> None:
    conditions = {f"Condition/{c['id']}": c for c in small_resources["Condition"]}
    for request in small_resources["MedicationRequest"]:
        reason = conditions[request["reasonReference"][0]["reference"]]
        assert reason["subject"] == request["subject"]


def test_encounter_diagnosis_points_back(small_resources: dict[str, list[dict]]) -> None:
    conditions = {f"Condition/{c['id']}": c for c in small_resources["Condition"]}
    diagnosed = [e for e in small_resources["Encounter"] if "diagnosis" in e]
    assert len(diagnosed) > len(small_resources["Encounter"]) / 4
    for enc in diagnosed:
        condition = conditions[enc["diagnosis"][0]["condition"]["reference"]]
        assert condition["encounter"]["reference"] == f"Encounter/{enc['id']}"
        assert condition["subject"] == enc["subject"]
