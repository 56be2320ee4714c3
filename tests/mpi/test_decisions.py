from __future__ import annotations

import pytest

from yteso.mpi import Candidate, Grade, Outcome, Thresholds, match_bundle
from yteso.mpi.decisions import MATCH_GRADE_URL, grade_of, outcome_of


@pytest.mark.parametrize(
    ("probability", "grade"),
    [
        (1.0, Grade.PROBABLE),
        (0.99, Grade.POSSIBLE),
        (0.9, Grade.POSSIBLE),
        (0.5, Grade.CERTAINLY_NOT),
    ],
)
def test_grade_of(probability, grade):
    assert grade_of(probability, Thresholds(auto_link=0.995, review=0.9)) is grade


def candidate(id_: str, probability: float, grade: Grade) -> Candidate:
    return Candidate(id_, probability, 0.0, grade, "model")


@pytest.mark.parametrize(
    ("grades", "outcome"),
    [
        ([Grade.CERTAIN], Outcome.LINK),
        ([Grade.POSSIBLE, Grade.PROBABLE], Outcome.LINK),
        ([Grade.POSSIBLE], Outcome.REVIEW),
        ([Grade.CERTAINLY_NOT], Outcome.UNIQUE),
        ([], Outcome.UNIQUE),
    ],
)
def test_outcome_of(grades, outcome):
    assert outcome_of([candidate(str(i), 0.5, g) for i, g in enumerate(grades)]) is outcome


@pytest.mark.parametrize(("auto_link", "review"), [(0.5, 0.9), (1.5, 0.9), (0.9, -0.1)])
def test_thresholds_are_checked(auto_link, review):
    with pytest.raises(ValueError, match="thresholds"):
        Thresholds(auto_link=auto_link, review=review)


CANDIDATES = [
    candidate("b", 0.95, Grade.POSSIBLE),
    Candidate("a", 1.0, float("inf"), Grade.CERTAIN, "cccd"),
    candidate("c", 0.9991, Grade.PROBABLE),
    candidate("d", 0.2, Grade.CERTAINLY_NOT),
    candidate("gone", 0.99, Grade.POSSIBLE),
]
RESOURCES = {i: {"resourceType": "Patient", "id": i} for i in "abcd"}


@pytest.mark.parametrize(
    ("options", "ids"),
    [
        ({}, ["a", "c", "b"]),
        ({"count": 2}, ["a", "c"]),
        ({"only_certain": True}, ["a"]),
    ],
)
def test_match_bundle(options, ids):
    bundle = match_bundle(CANDIDATES, RESOURCES, base_url="http://x/fhir/", **options)
    assert (bundle["resourceType"], bundle["type"], bundle["total"]) == (
        "Bundle",
        "searchset",
        len(ids),
    )
    assert [e["resource"]["id"] for e in bundle["entry"]] == ids
    first = bundle["entry"][0]
    assert first["fullUrl"] == "http://x/fhir/Patient/a"
    assert first["search"] == {
        "extension": [{"url": MATCH_GRADE_URL, "valueCode": "certain"}],
        "mode": "match",
        "score": 1.0,
    }
    scores = [e["search"]["score"] for e in bundle["entry"]]
    assert scores == sorted(scores, reverse=True)
