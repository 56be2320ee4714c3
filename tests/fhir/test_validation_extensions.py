"""Extensions checked against the core extension definitions (extensibility.html)."""

from __future__ import annotations

from typing import Any

import pytest

from yteso.fhir.definitions import extension_definition
from yteso.fhir.validation import VN_CORE_DOMAIN, ValidationOptions, validate

BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
MOTHERS_FAMILY = "http://hl7.org/fhir/StructureDefinition/humanname-mothers-family"
NARRATIVE_LINK = "http://hl7.org/fhir/StructureDefinition/narrativeLink"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
GENETICS = "http://hl7.org/fhir/StructureDefinition/DiagnosticReport-geneticsAnalysis"
UNKNOWN = "http://other.example.net/StructureDefinition/thing"
ADDRESS = {"city": "Huế"}


def patient(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p", **extra}


def report(*extensions: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "genetics"},
        "extension": list(extensions),
    }


def findings(resource: dict[str, Any], options: ValidationOptions | None = None) -> set[str]:
    """``severity expression`` of every issue (options: the platform's defaults)."""
    issues = validate(resource) if options is None else validate(resource, options)
    return {f"{i.severity} {i.expression[0]}" for i in issues}


CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    (
        "known extension, right type and context",
        patient(extension=[{"url": BIRTH_PLACE, "valueAddress": ADDRESS}]),
        set(),
    ),
    (
        "known extension, wrong value type",
        patient(extension=[{"url": BIRTH_PLACE, "valueString": "Huế"}]),
        {"error Patient.extension[0].valueString"},
    ),
    (
        "url type where the definition says url (uri given)",
        patient(extension=[{"url": NARRATIVE_LINK, "valueUri": "#a"}]),
        {"error Patient.extension[0].valueUri"},
    ),
    (
        "Element context allows any element",
        patient(name=[{"family": "Lê", "extension": [{"url": NARRATIVE_LINK, "valueUrl": "#a"}]}]),
        set(),
    ),
    (
        "context is HumanName.family, used on HumanName",
        patient(
            name=[{"family": "Lê", "extension": [{"url": MOTHERS_FAMILY, "valueString": "Lê"}]}]
        ),
        {"error Patient.name[0].extension[0]"},
    ),
    (
        "context HumanName.family, used on the family primitive",
        patient(
            name=[
                {
                    "family": "Lê",
                    "_family": {"extension": [{"url": MOTHERS_FAMILY, "valueString": "Lê"}]},
                }
            ]
        ),
        set(),
    ),
    (
        "context Patient, used on Observation",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "extension": [{"url": BIRTH_PLACE, "valueAddress": ADDRESS}],
        },
        {"error Observation.extension[0]"},
    ),
    (
        "max 1, given twice",
        patient(
            extension=[
                {"url": BIRTH_PLACE, "valueAddress": ADDRESS},
                {"url": BIRTH_PLACE, "valueAddress": ADDRESS},
            ]
        ),
        {"error Patient.extension[1]"},
    ),
    (
        "versioned extension url",
        patient(extension=[{"url": BIRTH_PLACE + "|4.0.1", "valueAddress": ADDRESS}]),
        {"error Patient.extension[0]"},
    ),
    (
        "data-absent-reason on a primitive (context Element)",
        patient(_birthDate={"extension": [{"url": DATA_ABSENT, "valueCode": "unknown"}]}),
        set(),
    ),
    (
        "complex extension with its defined parts",
        report(
            {"url": GENETICS, "extension": [{"url": "type", "valueCodeableConcept": {"text": "x"}}]}
        ),
        set(),
    ),
    (
        "complex extension given a value",
        report({"url": GENETICS, "valueString": "x"}),
        {"error DiagnosticReport.extension[0].valueString"},
    ),
    (
        "complex extension with an undefined part",
        report({"url": GENETICS, "extension": [{"url": "colour", "valueString": "x"}]}),
        {"error DiagnosticReport.extension[0].extension[0]"},
    ),
    (
        "complex extension part with the wrong type",
        report({"url": GENETICS, "extension": [{"url": "type", "valueString": "x"}]}),
        {"error DiagnosticReport.extension[0].extension[0].valueString"},
    ),
    (
        "unknown extension: information by default",
        patient(extension=[{"url": UNKNOWN, "valueString": "x"}]),
        {"information Patient.extension[0]"},
    ),
    (
        "VN Core extensions are the platform's own",
        patient(
            extension=[{"url": VN_CORE_DOMAIN + "core/StructureDefinition/x", "valueCode": "1"}]
        ),
        set(),
    ),
    (
        "a modifier extension must be in modifierExtension, and vice versa",
        patient(modifierExtension=[{"url": BIRTH_PLACE, "valueAddress": ADDRESS}]),
        {"error Patient.modifierExtension[0]"},
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [pytest.param(r, e, id=n) for n, r, e in CASES])
def test_extension_definitions(resource: dict[str, Any], expected: set[str]) -> None:
    assert findings(resource) == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (ValidationOptions(), {"information Patient.extension[0]"}),
        (ValidationOptions(unknown_extension_severity="error"), {"error Patient.extension[0]"}),
        (ValidationOptions(unknown_extension_severity="ignore"), set()),
        (
            ValidationOptions(
                unknown_extension_severity="error",
                allowed_extension_domains=("http://other.example.net/",),
            ),
            set(),
        ),
    ],
)
def test_unknown_extension_severity(options: ValidationOptions, expected: set[str]) -> None:
    resource = patient(extension=[{"url": UNKNOWN, "valueString": "x"}])
    assert findings(resource, options) == expected


@pytest.mark.parametrize(
    ("url", "contexts", "value_types", "parts"),
    [
        (BIRTH_PLACE, ("Patient",), ("Address",), ()),
        (MOTHERS_FAMILY, ("HumanName.family",), ("string",), ()),
        (NARRATIVE_LINK, ("Element",), ("url",), ()),
        (GENETICS, ("DiagnosticReport",), None, ("interpretation", "type")),
    ],
)
def test_extension_definitions_are_generated(
    url: str, contexts: tuple[str, ...], value_types: tuple[str, ...] | None, parts: tuple[str, ...]
) -> None:
    definition = extension_definition(url + "|4.0.1")
    assert definition is not None
    assert definition.contexts == contexts
    assert definition.value_types == value_types
    assert tuple(part.url for part in definition.parts) == parts
    assert extension_definition(UNKNOWN) is None
