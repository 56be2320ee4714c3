"""Every R4 SearchParameter expression compiles and evaluates without error on real data.

The store extracts its search indexes with these expressions on every write, so each must
parse, and evaluating them over Synthea resources (../shared/data/synthea) must not raise.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from tests.conftest import shared_path
from yteso.fhir import definitions
from yteso.fhirpath import compile

PER_FILE = 40


def _expressions() -> list[tuple[str, str, str]]:
    rows = []
    for kind in sorted(definitions.resource_types()):
        for code, parameter in sorted(definitions.search_parameters(kind).items()):
            if parameter.expression:
                rows.append((kind, code, parameter.expression))
    return rows


def test_every_search_parameter_expression_compiles() -> None:
    rows = _expressions()
    assert len(rows) > 1000
    for kind, code, expression in rows:
        assert compile(expression).tree is not None, f"{kind}.{code}"


def _synthea() -> dict[str, list[dict[str, Any]]]:
    root = shared_path("data", "synthea")
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted((root / "smart-sample-bulk-fhir-10-patients").glob("*.ndjson")):
        with path.open(encoding="utf-8") as lines:
            for _, line in zip(range(PER_FILE), lines, strict=False):
                resource = json.loads(line)
                if "resourceType" in resource:
                    found[resource["resourceType"]].append(resource)
    bundle = sorted((root / "smart-generated-sample-data-R4").glob("*.json"))[0]
    for entry in json.loads(bundle.read_text(encoding="utf-8"))["entry"]:
        found[entry["resource"]["resourceType"]].append(entry["resource"])
    return found


@pytest.mark.parametrize(
    "kind",
    [
        "Patient",
        "Observation",
        "Encounter",
        "Condition",
        "MedicationRequest",
        "Procedure",
        "Immunization",
        "Organization",
        "Practitioner",
        "DocumentReference",
    ],
)
def test_search_parameters_evaluate_on_synthea(kind: str) -> None:
    resources = _synthea()[kind]
    assert resources
    evaluated = 0
    for parameter in definitions.search_parameters(kind).values():
        if not parameter.expression:
            continue
        compiled = compile(parameter.expression)
        for resource in resources:
            compiled(resource)  # must not raise
            evaluated += 1
    assert evaluated > 0
