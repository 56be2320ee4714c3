"""Malformed data never crashes the engine: only typed FHIRPath errors come out.

The write path runs invariants next to the structural validator, on data that may be wrong in
any way; search extraction and views evaluate arbitrary expressions. Random mutations of the
official suite's inputs (a number where an object belongs, a bad date, an empty array...) are
evaluated with the suite's expressions and with ``check_invariants``.
"""

from __future__ import annotations

import copy
import json
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import shared_path
from tests.fhirpath.mutations import mutate
from yteso.fhirpath import FhirPathError, check_invariants, compile

JUNK: list[Any] = [1, 1.5, True, None, "x", "2020-13-45", [], {}, [1, "a"], {"a": 1}, "", -3]
JUNK += [[None], [[]], "#ref", Decimal("2.50")]
KEEP = frozenset({"resourceType"})  # a resource stays one
INPUTS = ["patient-example", "observation-example", "questionnaire-example"]
EXPRESSIONS = [
    "Patient.name.where(use = 'official').given.first()",
    "Patient.birthDate < @1980 and Patient.active",
    "Patient.telecom.where(system = 'phone').value.join(',')",
    "Observation.value > 100 'kg' or Observation.value.unit = 'lbs'",
    "Observation.extension('http://example.com/fhir/StructureDefinition/patient-age').value is Age",
    "descendants().where($this is Coding).code.distinct().count()",
    "Questionnaire.repeat(item).linkId.isDistinct()",
    "children().ofType(HumanName).family.upper() | contained.id",
    "(Observation.value as Quantity).value.round(1) + 1",
    "%resource.descendants().reference.resolve().id",
]


def _inputs() -> list[dict[str, Any]]:
    folder = shared_path("suites", "fhirpath", "r4", "input-json")
    return [
        json.loads((folder / f"{name}.json").read_text(encoding="utf-8"), parse_float=Decimal)
        for name in INPUTS
    ]


@pytest.fixture(scope="module")
def inputs() -> list[dict[str, Any]]:
    return _inputs()


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), mutations=st.integers(1, 5))
def test_mutated_resources_raise_only_typed_errors(seed: int, mutations: int) -> None:
    rng = random.Random(seed)
    resource = copy.deepcopy(rng.choice(_cached_inputs()))
    for _ in range(mutations):
        mutate(resource, rng, JUNK, KEEP)
    for expression in EXPRESSIONS:
        try:
            compile(expression)(resource)
        except FhirPathError:
            pass
    issues = check_invariants(resource)
    assert all(issue.code == "invariant" for issue in issues)


_CACHE: list[list[dict[str, Any]]] = []


def _cached_inputs() -> list[dict[str, Any]]:
    if not _CACHE:
        _CACHE.append(_inputs())
    return _CACHE[0]


def test_inputs_load(inputs: list[dict[str, Any]]) -> None:
    assert [r["resourceType"] for r in inputs] == ["Patient", "Observation", "Questionnaire"]
