"""Differential: the fast invariant walk and the write gate give exactly the issues of the slow
reference (every applicable constraint evaluated by FHIRPath on every node, no shortcuts, no
skipped subtrees), on the Synthea samples, the HL7 validator suite's inputs and systematically
broken variants (dropped, emptied and mistyped elements, bad formats, violated invariants)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import shared_path
from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.fhir.validation import has_errors, structure, validate
from yteso.fhir.vn_identifiers import check_patient_identifiers
from yteso.fhirpath.invariants import check_invariants, check_invariants_by_evaluator
from yteso.store.validation_gate import resource_issues

PER_FILE_AND_TYPE = 2  # Synthea resources kept per bundle and resource type
REF_O1 = {"reference": "#o1"}
CODING = {"system": "http://loinc.org", "code": "8867-4", "userSelected": True}
PATIENT: Json = {
    "resourceType": "Patient",
    "id": "p1",
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">An</div>'},
    "identifier": [{"system": "http://example.vn/mrn", "value": "1", "period": {"start": "2020"}}],
    "name": [{"family": "Nguyễn", "given": ["Văn", "An"]}],
    "telecom": [{"system": "phone", "value": "+84 912 345 678"}],
    "gender": "male",
    "birthDate": "1985-04-12",
    "contact": [{"name": {"text": "Bình"}, "telecom": [{"system": "phone", "value": "1"}]}],
    "managingOrganization": {"reference": "Organization/o1", "display": "BV"},
}
OBSERVATION: Json = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "code": {"coding": [CODING]},
    "subject": {"reference": "Patient/p1"},
    "effectivePeriod": {"start": "2024-05-01T08:00:00+07:00", "end": "2024-05-01T09:00:00+07:00"},
    "valueQuantity": {"value": 1, "unit": "/min", "system": "http://unitsofmeasure.org"},
    "referenceRange": [{"low": {"value": 50}, "high": {"value": 100}}],
    "component": [{"code": {"text": "x"}, "valueString": "y"}],
}
ENCOUNTER: Json = {
    "resourceType": "Encounter",
    "status": "finished",
    "class": {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "AMB",
        "userSelected": True,
    },
    "period": {"start": "2024-05-01", "end": "2024-05-02"},
}
# Invariants each base is made to break (or, for dom-3 with a reference, to keep).
TARGETED: list[tuple[str, Json]] = [
    ("obs-6", {**OBSERVATION, "dataAbsentReason": {"text": "lost"}}),
    ("obs-7", {**OBSERVATION, "component": [{"code": {"coding": [CODING]}, "valueString": "y"}]}),
    ("pat-1", {**PATIENT, "contact": [{"gender": "female"}]}),
    ("per-1", {**OBSERVATION, "effectivePeriod": {"start": "2024-05-02", "end": "2024-05-01"}}),
    ("per-1", {**OBSERVATION, "effectivePeriod": {"start": "2024-05-02", "end": "2024-05"}}),
    ("ref-1", {**PATIENT, "managingOrganization": {"reference": "#nothing"}}),
    (
        "per-1 in a Coding's extension (the walk visits CodeableConcepts for it)",
        {
            **OBSERVATION,
            "code": {
                "coding": [
                    {
                        **CODING,
                        "extension": [
                            {
                                "url": "http://example.vn/x",
                                "valuePeriod": {"start": "2", "end": "1"},
                            }
                        ],
                    }
                ]
            },
        },
    ),
    (
        "ref-1 in a modifierExtension of a backbone element",
        {
            **OBSERVATION,
            "referenceRange": [
                {
                    "low": {"value": 50},
                    "modifierExtension": [
                        {"url": "http://example.vn/x", "valueReference": {"reference": "#none"}}
                    ],
                }
            ],
        },
    ),
    ("dom-3", {**PATIENT, "contained": [{"resourceType": "Organization", "id": "o1"}]}),
    (
        "dom-3 held",
        {
            **PATIENT,
            "contained": [{"resourceType": "Organization", "id": "o1", "name": "BV"}],
            "managingOrganization": {"reference": "#o1"},
        },
    ),
    (
        "dom-3 referenced from a primitive extension only",
        {
            **PATIENT,
            "contained": [{"resourceType": "Organization", "id": "o1", "name": "BV"}],
            "_gender": {"extension": [{"url": "http://example.vn/x", "valueReference": REF_O1}]},
        },
    ),
    (
        "dom-3, one of two referenced",
        {
            **PATIENT,
            "contained": [
                {"resourceType": "Organization", "id": "o1", "name": "BV"},
                {"resourceType": "Organization", "id": "o2", "name": "BV2"},
            ],
            "managingOrganization": {"reference": "#o1"},
        },
    ),
    (
        "dom-3 in a bundle entry",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        **PATIENT,
                        "contained": [{"resourceType": "Organization", "id": "o1", "name": "B"}],
                        "managingOrganization": {"reference": "#o1"},
                    }
                },
                {"resource": {**PATIENT, "contained": [{"resourceType": "Group", "id": "g"}]}},
            ],
        },
    ),
]


def _synthea() -> list[Json]:
    found: list[Json] = []
    for path in sorted(Path(shared_path("data", "synthea")).rglob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            continue
        kept: dict[str, int] = {}
        for entry in bundle.get("entry", []):
            resource = entry.get("resource")
            if not isinstance(resource, dict):
                continue
            type_name = str(resource.get("resourceType"))
            if kept.get(type_name, 0) < PER_FILE_AND_TYPE or "contained" in resource:
                kept[type_name] = kept.get(type_name, 0) + 1
                found.append(resource)
    return found


def validator_suite_inputs() -> list[Json]:
    """The HL7 validator suite's inputs that parse as JSON objects."""
    found: list[Json] = []
    for path in sorted(Path(shared_path("suites", "fhir-validator", "inputs")).rglob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(document, dict):
            found.append(document)
    return found


def _replacements(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [{}, {"id": "x"}, "text", [value], {**value, "unknownElement": 1}]
    if isinstance(value, list):
        return [[], [None], value[0] if value else 1, [*value, {}]]
    if isinstance(value, str):
        return [123, "", " padded ", "2024-02-30", {"value": value}, [value]]
    if isinstance(value, bool):  # True == 1 in Python, not in JSON
        return [int(value), "text", {}]
    return [True, float(value), "text", None, {}, -(2**40)]


def _mutants(resource: Json) -> Iterator[Json]:
    """Each top-level element dropped or replaced, and the same one level down."""
    for key, value in resource.items():
        if key == "resourceType":
            continue
        dropped = {k: v for k, v in resource.items() if k != key}
        yield dropped
        for replacement in _replacements(value):
            yield {**resource, key: replacement}
        item = value[0] if isinstance(value, list) and value else value
        if isinstance(item, dict):
            for inner_key, inner in item.items():
                for replacement in [None, *_replacements(inner)]:
                    changed = copy.deepcopy(resource)
                    target = changed[key][0] if isinstance(value, list) else changed[key]
                    if replacement is None:
                        del target[inner_key]
                    else:
                        target[inner_key] = replacement
                    yield changed


def _shape(issues: list[Issue]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(i.severity, i.code, i.diagnostics, i.expression) for i in issues]


def _reference_gate(resource: Json) -> list[Issue]:
    issues = validate(resource) + check_invariants_by_evaluator(resource)
    if resource.get("resourceType") == "Patient":
        issues += check_patient_identifiers(resource)
    return issues


def _assert_identical(resources: list[Json]) -> int:
    """Compares every resource both ways; returns how many issues were compared."""
    compared = 0
    for resource in resources:
        expected = _shape(check_invariants_by_evaluator(resource))
        assert _shape(check_invariants(resource)) == expected, resource
        well_formed = not has_errors(validate(resource))
        assert _shape(check_invariants(resource, well_formed=well_formed)) == expected, resource
        gate = _shape(_reference_gate(resource))
        assert _shape(resource_issues(resource)) == gate, resource
        # with orjson's text the gate sees whether any extension exists (the walk then skips
        # what only an extension could make worth visiting)
        assert _shape(resource_issues(resource, text=orjson.dumps(resource))) == gate, resource
        compared += len(expected)
    return compared


def test_synthea_samples_agree() -> None:
    resources = _synthea()
    compared = _assert_identical(resources)
    print(f"{len(resources)} Synthea resources, {compared} invariant issues compared")
    assert any("contained" in resource for resource in resources)


def test_validator_suite_inputs_agree() -> None:
    resources = validator_suite_inputs()
    compared = _assert_identical(resources)
    print(f"{len(resources)} validator suite inputs, {compared} invariant issues compared")
    assert compared > 0


@pytest.mark.parametrize(
    "base", [PATIENT, OBSERVATION, ENCOUNTER], ids=["Patient", "Observation", "Encounter"]
)
def test_broken_variants_agree(base: Json) -> None:
    mutants = list(_mutants(base))
    compared = _assert_identical(mutants)
    print(f"{len(mutants)} variants of {base['resourceType']}, {compared} issues compared")
    assert compared > 0


def test_broken_synthea_variants_agree() -> None:
    bases: dict[str, Json] = {}
    for resource in _synthea():
        bases.setdefault(str(resource["resourceType"]), resource)
    mutants = [mutant for base in bases.values() for mutant in _mutants(base)]
    compared = _assert_identical(mutants)
    print(f"{len(mutants)} variants of {len(bases)} Synthea types, {compared} issues compared")


@pytest.mark.parametrize(("name", "resource"), TARGETED, ids=[name for name, _ in TARGETED])
def test_targeted_invariants_agree(name: str, resource: Json) -> None:
    _assert_identical([resource, *_mutants(resource)])
    keys = {issue.diagnostics.split(":")[0] for issue in check_invariants(resource)}
    if "held" in name:
        assert "dom-3" not in keys
    else:
        assert name.split(",")[0].split(" ")[0] in keys


def test_remembered_valid_objects_change_nothing() -> None:
    """structure.py remembers flat Codings and Quantities found valid: validating with that
    memory warm gives what validating each resource from a cold one gives."""
    resources = [*_synthea(), *_mutants(OBSERVATION), *_mutants(PATIENT), *_mutants(ENCOUNTER)]
    resources += [mutant for _, base in TARGETED for mutant in _mutants(base)]
    cold = []
    for resource in resources:
        structure._KNOWN_VALID.clear()
        cold.append(_shape(validate(resource)))
    for resource in resources:
        validate(resource)
    assert structure._KNOWN_VALID
    assert [_shape(validate(resource)) for resource in resources] == cold
