from __future__ import annotations

import copy

import pytest

from yteso.fhir.vn_core import CCCD_SYSTEM
from yteso.mpi import Grade, MatchIndex, Outcome, Thresholds, match_bundle


@pytest.fixture(scope="module")
def index(population):
    built = MatchIndex(population.model, Thresholds(auto_link=0.999, review=0.9))
    built.add_all(p for p in population.patients if p["id"] not in population.truth)
    return built


def without_cccd(patient):
    twin = copy.deepcopy(patient)
    twin["identifier"] = [i for i in twin["identifier"] if i["system"] != CCCD_SYSTEM]
    return twin


def test_duplicates_are_matched_to_their_original(population, index):
    duplicates = [p for p in population.patients if p["id"] in population.truth]
    right = wrong = 0
    for duplicate in duplicates:
        decision = index.match(duplicate)
        if decision.outcome is Outcome.LINK:
            right += decision.best.id == population.truth[duplicate["id"]]
            wrong += decision.best.id != population.truth[duplicate["id"]]
    assert wrong == 0
    assert right >= 0.97 * len(duplicates)


@pytest.mark.parametrize(
    ("change", "grade", "rule"),
    [
        (lambda p: p, Grade.CERTAIN, "cccd"),
        (without_cccd, Grade.PROBABLE, "model"),
    ],
)
def test_decision_for_a_second_registration(population, index, change, grade, rule):
    original = next(p for p in population.patients if p["id"] in index and "telecom" in p)
    incoming = change(copy.deepcopy(original))
    incoming["id"] = "incoming"
    decision = index.match(incoming)
    assert decision.outcome is Outcome.LINK
    assert (decision.best.id, decision.best.grade, decision.best.rule) == (
        original["id"],
        grade,
        rule,
    )
    bundle = match_bundle(decision.candidates, {original["id"]: original})
    assert bundle["entry"][0]["search"]["extension"][0]["valueCode"] == grade.value


def test_a_different_citizen_id_is_never_a_candidate(population, index):
    original = next(p for p in population.patients if p["id"] in index)
    other = copy.deepcopy(original)
    other["id"] = "other"
    cccd = next(i for i in other["identifier"] if i["system"] == CCCD_SYSTEM)
    serial = int(cccd["value"][6:])
    cccd["value"] = cccd["value"][:6] + f"{(serial + 1) % 1_000_000:06d}"
    assert original["id"] not in {c.id for c in index.match(other).candidates}


def test_add_replace_remove(population):
    index = MatchIndex(population.model)
    first = population.patients[0]
    decision = index.match_and_add(first)
    assert (decision.outcome, len(index)) == (Outcome.UNIQUE, 1)
    moved = copy.deepcopy(first)
    moved["birthDate"] = "1900-01-01"
    index.add(moved)
    assert len(index) == 1
    assert index.features(first["id"]).birth_date == "1900-01-01"
    index.remove(first["id"])
    index.remove("never-there")
    assert len(index) == 0
    assert index._blocks == {} and index._by_cccd == {}
