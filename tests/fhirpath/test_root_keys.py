"""Which top-level JSON keys a search expression can read (yteso.fhirpath.root_keys)."""

from __future__ import annotations

import pytest

from yteso.fhirpath import parse
from yteso.fhirpath.root_keys import root_keys, union_branches


@pytest.mark.parametrize(
    ("resource_type", "expression", "expected"),
    [
        ("Patient", "Patient.name", {"name", "_name"}),
        ("Patient", "name | alias", None),  # Patient has no alias: unknown element
        ("Organization", "name | alias", {"name", "_name", "alias", "_alias"}),
        (
            "Observation",
            "Observation.code | Observation.component.code",
            {"code", "_code", "component", "_component"},
        ),
        ("Observation", "(Observation.value as Quantity)", {"valueQuantity", "_valueQuantity"}),
        ("Condition", "Condition.onset.as(string)", {"onsetString", "_onsetString"}),
        ("Condition", "Condition.onset.as(Age)", {"onsetAge", "_onsetAge"}),
        (
            "Patient",
            "Patient.identifier.where(system = %resource.id)",
            {"identifier", "_identifier"},
        ),
        ("Patient", "AllergyIntolerance.patient | Patient.link.other", {"link", "_link"}),
        ("Patient", "Patient.extension('http://x')", {"extension", "_extension"}),
        ("Patient", "Patient.deceased.exists() and Patient.deceased != false", None),
        ("Patient", "Patient.descendants()", None),
        ("Patient", "%resource.name", None),
        ("Patient", "Patient", None),
        ("Patient", "Patient.name.count()", None),
    ],
)
def test_root_keys(resource_type: str, expression: str, expected: set[str] | None) -> None:
    found = root_keys(parse(expression), resource_type)
    assert found == (None if expected is None else frozenset(expected))


def test_choice_without_type_reads_every_choice_key() -> None:
    found = root_keys(parse("Immunization.occurrence"), "Immunization")
    expected = {
        "occurrenceDateTime",
        "occurrenceString",
        "_occurrenceDateTime",
        "_occurrenceString",
    }
    assert found == frozenset(expected)


@pytest.mark.parametrize(
    ("expression", "count"),
    [("Patient.name", 1), ("Patient.name | Patient.alias", 2), ("a | (b | c).d | e", 3)],
)
def test_union_branches(expression: str, count: int) -> None:
    assert len(union_branches(parse(expression))) == count
