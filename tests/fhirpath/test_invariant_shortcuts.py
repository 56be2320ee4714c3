"""Differential: every verdict an invariant shortcut gives equals the FHIRPath evaluator's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_path
from yteso.fhir.types import Json
from yteso.fhirpath import invariants
from yteso.fhirpath.context import truth
from yteso.fhirpath.errors import FhirPathError
from yteso.fhirpath.invariant_rules import Rule, type_rules
from yteso.fhirpath.invariant_shortcuts import reference_1, shortcut
from yteso.fhirpath.values import Node

REF = {"reference": "Patient/1"}
VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ENTERED_IN_ERROR = {"system": VER_STATUS, "code": "entered-in-error"}
EDGE_CASES: list[Json] = [
    {"resourceType": "Patient", "contact": [{"name": {"text": "x"}}, {"gender": "male"}]},
    {"resourceType": "Patient", "telecom": [{"value": "1"}, {"system": "phone", "value": "1"}]},
    {"resourceType": "Patient", "telecom": [{"_value": {"extension": []}}, {"_system": {}}]},
    {"resourceType": "Patient", "text": {"status": "generated"}, "contained": []},
    {"resourceType": "Patient", "text": {"status": "generated", "div": "<div>x</div>"}},
    {
        "resourceType": "Patient",
        "contained": [{"resourceType": "Organization", "id": "o1"}],
        "managingOrganization": {"reference": "#o1"},
        "generalPractitioner": [{"reference": "#"}, {"display": "x"}, {"_reference": {}}],
    },
    {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": REF,
        "dataAbsentReason": {"text": "x"},
        "valueString": "y",
        "valueQuantity": {"value": 1, "code": "kg"},
        "referenceRange": [{"text": "x"}, {"appliesTo": [{"text": "y"}]}],
    },
    {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "_valueString": {"extension": [{"url": "u", "valueString": "v"}]},
    },
    {
        "resourceType": "Condition",
        "subject": REF,
        "abatementString": "x",
        "verificationStatus": {"coding": [{"code": "entered-in-error"}]},
        "evidence": [{}, {"detail": [REF]}],
    },
    *[  # con-5's filtered path: which codings a where() keeps, and shapes left to the evaluator
        {"resourceType": "Condition", "subject": REF, "clinicalStatus": {"text": "x"}, **v}
        for v in [
            {
                "verificationStatus": {
                    "coding": [{"system": VER_STATUS, "code": "entered-in-error"}]
                }
            },
            {"verificationStatus": {"coding": [{"system": VER_STATUS, "code": "confirmed"}]}},
            {"verificationStatus": {"coding": [{"system": "x", "code": "entered-in-error"}]}},
            {"verificationStatus": {"coding": [{"code": "x"}, {"system": VER_STATUS}]}},
            {"verificationStatus": {"coding": [{"code": "x"}, ENTERED_IN_ERROR]}},
            {"verificationStatus": {"coding": [{**ENTERED_IN_ERROR, "_code": {"id": "1"}}]}},
            {"verificationStatus": {"coding": [{"system": VER_STATUS, "code": 1}]}},
            {"verificationStatus": {"coding": [None, {}]}},
            {"verificationStatus": {"coding": []}},
            {"verificationStatus": {"coding": {"system": VER_STATUS, "code": "x"}}},
            {"verificationStatus": [{"coding": [ENTERED_IN_ERROR]}]},
            {"verificationStatus": {"text": "y"}},
            {"verificationStatus": "entered-in-error"},
        ]
    ],
    *[
        {"resourceType": "Encounter", "status": "planned", "class": {"code": "x"}, "period": p}
        for p in [
            {"start": "2021-01-02", "end": "2021-01-01"},
            {"start": "2021-01-01", "end": "2021-01-01"},
            {"start": "2021-01-01T10:00:00+07:00", "end": "2021-01-01T03:30:00Z"},
            {"start": "2021-01-01T10:00:00+07:00", "end": "2021-01-01T02:59:59Z"},
            {"start": "2021-01-01T10:00:00.5Z", "end": "2021-01-01T10:00:00.25Z"},
            {"start": "2021-01-01T10:00:00Z", "end": "2021-01-01T10:00:00.000Z"},
            {"start": "2021-01-01", "end": "2021-01-01T10:00:00Z"},
            {"start": "2021-01", "end": "2021"},
            {"start": "2021-01-01T10:00:00Z", "_end": {"extension": []}},
            {"end": "2021-01-01"},
        ]
    ],
]


def _corpus() -> list[Json]:
    found: list[Json] = list(EDGE_CASES)
    for folder in (
        shared_path("suites", "fhir-validator", "inputs"),
        shared_path("suites", "fhirpath", "r4", "input-json"),
    ):
        for path in sorted(Path(folder).rglob("*.json")):
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(document, dict) and "resourceType" in document:
                found.append(document)
    return found


class _Comparing(invariants._Checker):
    """Runs each rule both ways; records the shortcut's verdicts and any disagreement."""

    def __init__(self) -> None:
        super().__init__(None)
        self.decided = 0
        self.disagreements: list[str] = []

    def apply(
        self,
        rules: tuple[Rule, ...],
        data: Any,
        type_name: str | None,
        scope: invariants._Scope,
        location: invariants.Location,
        own: bool = False,
    ) -> None:
        for rule in rules:
            verdict = rule.shortcut(data) if rule.shortcut is not None else None
            if verdict is None:
                continue
            self.decided += 1
            expected: Any
            try:
                focus = scope.node() if own else Node(data, type_name)
                expected = truth(rule.expression.evaluate_in([focus], scope.environment())) is True
            except FhirPathError as exc:
                expected = f"error {exc}"
            if verdict != expected:
                self.disagreements.append(f"{rule.key} at {location}: {verdict} != {expected}")
        super().apply(rules, data, type_name, scope, location, own)


def test_shortcuts_agree_with_the_evaluator() -> None:
    decided = 0
    disagreements: list[str] = []
    for resource in _corpus():
        checker = _Comparing()
        checker.resource(resource, "", None)
        decided += checker.decided
        disagreements += checker.disagreements
    print(f"{decided} shortcut verdicts compared")
    assert not disagreements
    assert decided > 500  # the corpus really exercises them


@pytest.mark.parametrize(
    ("type_name", "key"),
    [
        ("Reference", "ref-1"),
        ("Period", "per-1"),
        ("ContactPoint", "cpt-2"),
        ("Quantity", "qty-3"),
        ("Condition", "dom-3"),
        ("Condition", "dom-6"),
        ("Condition", "con-4"),
        ("Condition", "con-5"),
    ],
)
def test_common_invariants_have_shortcuts(type_name: str, key: str) -> None:
    (rule,) = [rule for rule in type_rules(type_name) if rule.key == key]
    assert rule.shortcut is not None


@pytest.mark.parametrize(
    ("resource", "key"),
    [
        ({"resourceType": "Patient", "telecom": [{"value": "1"}]}, "cpt-2"),
        (EDGE_CASES[-6], "per-1"),  # 10:00:00.5Z after 10:00:00.25Z
        (EDGE_CASES[-7], "per-1"),  # 10:00+07:00 after 02:59:59Z
        (EDGE_CASES[-4], "per-1"),  # a date and a dateTime: not comparable, so not true
        (EDGE_CASES[-10], "per-1"),  # 2021-01-02 after 2021-01-01
        ({"resourceType": "Patient", "generalPractitioner": [{"reference": "#x"}]}, "ref-1"),
    ],
)
def test_violations_are_still_reported(resource: Json, key: str) -> None:
    keys = [issue.diagnostics.split(":")[0] for issue in invariants.check_invariants(resource)]
    assert key in keys


def test_reference_1_is_the_composed_shortcut() -> None:
    """ref-1's one-call shortcut gives the verdicts of the shortcut composed from its tree."""
    (rule,) = [rule for rule in type_rules("Reference") if rule.key == "ref-1"]
    assert rule.shortcut is reference_1
    composed = shortcut(rule.expression.tree, "Reference")
    assert composed is not None
    shapes: list[Any] = ["Patient/1", "#", "#a", "", None, [], {}, 5, ["#a"], {"x": 1}]
    cases: list[Any] = [None, "x", [], {}, {"display": "x"}]
    for value in shapes:
        cases += [{"reference": value}, {"reference": value, "_reference": {"id": "1"}}]
        cases += [{"_reference": value}, {"reference": value, "display": "x"}]
    for data in cases:
        assert reference_1(data) == composed(data), data
