"""FHIRPath Patch beyond the official cases: errors are typed and clear."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fhirpath.mutations import mutate
from yteso.fhir.errors import FhirError, Invalid, Unprocessable
from yteso.fhirpath.patch import apply_fhirpath_patch

PATIENT = {"resourceType": "Patient", "name": [{"given": ["An", "Binh"]}], "birthDate": "1990"}


def _operation(kind: str, path: str, **parts: Any) -> dict[str, Any]:
    values = [{"name": "type", "valueCode": kind}, {"name": "path", "valueString": path}]
    for name, (key, value) in parts.items():
        values.append({"name": name, key: value})
    return {"name": "operation", "part": values}


def _parameters(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(operations)}


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (
            _operation("replace", "Patient.name[0].given[1]", value=("valueString", "Bao")),
            {"name": [{"given": ["An", "Bao"]}], "birthDate": "1990"},
        ),
        (
            _operation("delete", "Patient.name.given[0]"),
            {"name": [{"given": ["Binh"]}], "birthDate": "1990"},
        ),
        (
            _operation(
                "insert",
                "Patient.name[0].given",
                value=("valueString", "Chi"),
                index=("valueInteger", 1),
            ),
            {"name": [{"given": ["An", "Chi", "Binh"]}], "birthDate": "1990"},
        ),
        (
            _operation(
                "move",
                "Patient.name[0].given",
                source=("valueInteger", 1),
                destination=("valueInteger", 0),
            ),
            {"name": [{"given": ["Binh", "An"]}], "birthDate": "1990"},
        ),
        (
            _operation(
                "add", "Patient", name=("valueString", "deceased"), value=("valueBoolean", False)
            ),
            {"name": [{"given": ["An", "Binh"]}], "birthDate": "1990", "deceasedBoolean": False},
        ),
        (
            _operation("delete", "Patient.gender"),
            {"name": [{"given": ["An", "Binh"]}], "birthDate": "1990"},
        ),
        # complex values built from parts: datatypes' arrays and choice elements by type
        (
            _operation(
                "add",
                "Patient",
                name=("valueString", "extension"),
                value=(
                    "part",
                    [
                        {"name": "url", "valueUri": "http://x.org/e"},
                        {"name": "value", "valueString": "a"},
                        {"name": "extension", "part": [{"name": "value", "valueCode": "b"}]},
                    ],
                ),
            ),
            {
                "name": [{"given": ["An", "Binh"]}],
                "birthDate": "1990",
                "extension": [
                    {"url": "http://x.org/e", "valueString": "a", "extension": [{"valueCode": "b"}]}
                ],
            },
        ),
        (
            _operation(
                "add",
                "Patient",
                name=("valueString", "contact"),
                value=(
                    "part",
                    [{"name": "name", "part": [{"name": "given", "valueString": "Chi"}]}],
                ),
            ),
            {
                "name": [{"given": ["An", "Binh"]}],
                "birthDate": "1990",
                "contact": [{"name": {"given": ["Chi"]}}],
            },
        ),
    ],
)
def test_operations(operation: dict[str, Any], expected: dict[str, Any]) -> None:
    result = apply_fhirpath_patch(PATIENT, _parameters(operation))
    assert result == {"resourceType": "Patient", **expected}


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ({"resourceType": "Patient"}, Invalid, "Parameters"),
        (_parameters({"name": "op"}), Invalid, "not an 'operation'"),
        (_parameters(_operation("frobnicate", "Patient")), Invalid, "needs a type"),
        (_parameters(_operation("replace", "Patient.birthDate")), Invalid, "value is required"),
        (
            _parameters(_operation("replace", "Patient.name.given", value=("valueString", "x"))),
            Unprocessable,
            "matches 2 elements",
        ),
        (
            _parameters(
                _operation(
                    "add",
                    "Patient.contact",
                    name=("valueString", "gender"),
                    value=("valueCode", "male"),
                )
            ),
            Unprocessable,
            "No content found at Patient.contact",
        ),
        (
            _parameters(
                _operation(
                    "insert",
                    "Patient.name[0].given",
                    value=("valueString", "x"),
                    index=("valueInteger", 9),
                )
            ),
            Unprocessable,
            "beyond",
        ),
        (_parameters(_operation("delete", "Patient.name.where(")), Invalid, "syntax error"),
    ],
)
def test_errors(body: dict[str, Any], error: type[FhirError], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")):
        apply_fhirpath_patch(PATIENT, body)


JUNK: list[Any] = [1, "x", None, [], {}, [1], {"name": 1}, {"name": "value", "part": "x"}, True]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_malformed_parameters_raise_only_fhir_errors(seed: int) -> None:
    rng = random.Random(seed)
    operations = [
        _operation(
            "add",
            "Patient",
            name=("valueString", "contact"),
            value=("part", [{"name": "name", "valueHumanName": {"text": "a"}}]),
        ),
        _operation(
            "insert",
            "Patient.name",
            index=("valueInteger", 0),
            value=("valueHumanName", {"family": "x"}),
        ),
        _operation(
            "move",
            "Patient.name[0].given",
            source=("valueInteger", 0),
            destination=("valueInteger", 1),
        ),
        _operation("replace", "Patient.birthDate", value=("valueDate", "1991")),
    ]
    body = _parameters(*copy.deepcopy(operations))
    for _ in range(rng.randrange(1, 4)):
        mutate(body["parameter"], rng, JUNK)
    try:
        apply_fhirpath_patch(PATIENT, body)
    except FhirError:
        pass
