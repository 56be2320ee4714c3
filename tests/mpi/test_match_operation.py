from __future__ import annotations

import copy

import pytest

from yteso.fhir.errors import Invalid
from yteso.fhir.vn_core import CCCD_SYSTEM
from yteso.mpi import MatchIndex
from yteso.mpi.match_operation import MatchRequest, match_request, run_match

PATIENT = {"resourceType": "Patient", "id": "x"}


def parameters(*parts):
    return {"resourceType": "Parameters", "parameter": list(parts)}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (PATIENT, MatchRequest(PATIENT)),
        (parameters({"name": "resource", "resource": PATIENT}), MatchRequest(PATIENT)),
        (
            parameters(
                {"name": "resource", "resource": PATIENT},
                {"name": "onlyCertainMatches", "valueBoolean": True},
                {"name": "count", "valueInteger": 3},
            ),
            MatchRequest(PATIENT, True, 3),
        ),
    ],
)
def test_match_request(body, expected):
    assert match_request(body) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"resourceType": "Observation"}, "Parameters"),
        (parameters(), "Patient"),
        (parameters({"name": "resource", "resource": {"resourceType": "Observation"}}), "Patient"),
        (
            parameters(
                {"name": "resource", "resource": PATIENT}, {"name": "count", "valueInteger": 0}
            ),
            "count",
        ),
        (
            parameters(
                {"name": "resource", "resource": PATIENT},
                {"name": "onlyCertainMatches", "valueInteger": 1},
            ),
            "boolean",
        ),
        (
            parameters(
                {"name": "resource", "resource": PATIENT}, {"name": "resource", "resource": PATIENT}
            ),
            "twice",
        ),
    ],
)
def test_bad_requests(body, message):
    with pytest.raises(Invalid, match=message):
        match_request(body)


@pytest.mark.parametrize(
    ("only_certain", "grades"), [(False, ["certain", "probable"]), (True, ["certain"])]
)
def test_run_match(population, only_certain, grades):
    original = next(p for p in population.patients if "telecom" in p)
    stored = {original["id"]: original}
    copy_without_cccd = copy.deepcopy(original)
    copy_without_cccd["id"] = "second"
    copy_without_cccd["identifier"] = [
        i for i in original["identifier"] if i["system"] != CCCD_SYSTEM
    ]
    stored["second"] = copy_without_cccd
    index = MatchIndex(population.model)
    index.add_all(stored.values())
    query = copy.deepcopy(original)
    query["id"] = "query"
    body = parameters(
        {"name": "resource", "resource": query},
        {"name": "onlyCertainMatches", "valueBoolean": only_certain},
    )
    bundle = run_match(body, index, stored.get, base_url="http://h/fhir")
    assert [e["search"]["extension"][0]["valueCode"] for e in bundle["entry"]] == grades
    assert bundle["entry"][0]["fullUrl"] == f"http://h/fhir/Patient/{original['id']}"
