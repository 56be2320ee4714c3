"""R4 invariants evaluated on resources: each failure names its key and its node."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from yteso.fhirpath.invariant_rules import STRUCTURAL_KEYS
from yteso.fhirpath.invariants import check_invariants

NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}
PATIENT: dict[str, Any] = {"resourceType": "Patient", "id": "p", "text": NARRATIVE}
OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o",
    "text": NARRATIVE,
    "status": "final",
    "code": {"text": "weight"},
    "valueQuantity": {
        "value": 70,
        "unit": "kg",
        "system": "http://unitsofmeasure.org",
        "code": "kg",
    },
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    resource = copy.deepcopy(base)
    resource.update(changes)
    return resource


CASES = [
    ("valid patient", PATIENT, []),
    ("valid observation", OBSERVATION, []),
    (
        "contact without details",
        _with(PATIENT, contact=[{"gender": "male"}]),
        [("error", "pat-1", "Patient.contact[0]")],
    ),
    ("contact with a name", _with(PATIENT, contact=[{"name": {"family": "Tran"}}]), []),
    (
        "period ends before it starts",
        _with(PATIENT, identifier=[{"value": "1", "period": {"start": "2020", "end": "2019"}}]),
        [("error", "per-1", "Patient.identifier[0].period")],
    ),
    (
        "value and dataAbsentReason",
        _with(OBSERVATION, dataAbsentReason={"text": "x"}),
        [("error", "obs-6", "Observation")],
    ),
    (
        "quantity code without system",
        _with(OBSERVATION, valueQuantity={"value": 1, "code": "mg"}),
        [("error", "qty-3", "Observation.value.ofType(Quantity)")],
    ),
    (
        "missing narrative is a warning",
        _with(PATIENT, text=None) | {"text": {"status": "empty", "div": NARRATIVE["div"]}},
        [],
    ),
    (
        "local reference without contained",
        _with(OBSERVATION, subject={"reference": "#nope"}),
        [("error", "ref-1", "Observation.subject")],
    ),
    (
        "local reference to a contained resource",
        _with(
            OBSERVATION,
            subject={"reference": "#p1"},
            contained=[{"resourceType": "Patient", "id": "p1"}],
        ),
        [],
    ),
    (
        "contained resource is checked as a resource",
        _with(
            OBSERVATION,
            subject={"reference": "#p1"},
            contained=[{"resourceType": "Patient", "id": "p1", "contact": [{}]}],
        ),
        [("error", "pat-1", "Observation.contained[0].contact[0]")],
    ),
    (
        "bundle entries are checked",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": _with(PATIENT, contact=[{"gender": "male"}])}],
        },
        [("error", "pat-1", "Bundle.entry[0].resource.contact[0]")],
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [pytest.param(r, e, id=n) for n, r, e in CASES])
def test_invariants(resource: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    issues = check_invariants(resource)
    found = [(i.severity, i.diagnostics.split(":")[0], i.expression[0]) for i in issues]
    assert found == expected
    assert all(i.code == "invariant" for i in issues)


def test_missing_narrative_warns_dom_6() -> None:
    issues = check_invariants({"resourceType": "Patient", "id": "x"})
    assert [(i.severity, i.diagnostics) for i in issues] == [
        ("warning", "dom-6: A resource should have narrative for robust management")
    ]


def test_structural_keys_are_left_to_the_validator() -> None:
    resource = _with(
        PATIENT,
        extension=[
            {"url": "http://x", "valueString": "a", "extension": [{"url": "y", "valueString": "b"}]}
        ],
    )
    keys = {i.diagnostics.split(":")[0] for i in check_invariants(resource)}
    assert not keys & STRUCTURAL_KEYS
