"""The public API and the FHIR extras the official suite does not reach."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from yteso.fhirpath import (
    FhirPathEvaluationError,
    FhirPathSyntaxError,
    Quantity,
    Services,
    compile,
    evaluate,
)
from yteso.fhirpath.values import plain

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "active": True,
    "gender": "female",
    "birthDate": "1985-06-01",
    "name": [
        {"use": "official", "family": "Nguyễn", "given": ["Thị", "Lan"]},
        {"use": "nickname", "given": ["Lan"]},
    ],
    "identifier": [{"system": "http://fhir.hl7.org.vn/core/sid/cccd", "value": "001085012345"}],
    "managingOrganization": {"reference": "#org"},
    "contained": [{"resourceType": "Organization", "id": "org", "name": "Trạm Y tế"}],
    "_gender": {"extension": [{"url": "http://example.org/x", "valueString": "note"}]},
}
OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
    "valueQuantity": {
        "value": 142.5,
        "unit": "mmHg",
        "system": "http://unitsofmeasure.org",
        "code": "mm[Hg]",
    },
    "subject": {"reference": "Patient/p1"},
}
BUNDLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"fullUrl": "http://x/Patient/p1", "resource": PATIENT},
        {"fullUrl": "http://x/Observation/o1", "resource": OBSERVATION},
    ],
}
# JSON the shortcuts must not trust: entries that are not objects, a null or list resource, an
# entry without resource, a ``_name`` companion beside a resource, null items in arrays.
ODD_BUNDLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        "text",
        None,
        {"resource": None},
        {"resource": [OBSERVATION, PATIENT]},
        {"fullUrl": "http://x/empty"},
        {"resource": OBSERVATION, "_resource": {"id": "x"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": None}},
        {"resource": {"resourceType": 7}},
        {"resource": PATIENT},
        {"resource": {"resourceType": "Patient", "name": [None, {"given": [None, "An"]}]}},
    ],
}

CASES = [
    (PATIENT, "Patient.name.where(use='official').given.first()", ["Thị"]),
    (PATIENT, "Patient.name.given.distinct()", ["Thị", "Lan"]),
    (
        PATIENT,
        "Patient.identifier.where(system='http://fhir.hl7.org.vn/core/sid/cccd').value",
        ["001085012345"],
    ),
    (PATIENT, "Patient.birthDate < @1990-01-01 and Patient.active", [True]),
    (PATIENT, "Patient.birthDate + 1 year", None),
    (PATIENT, "Patient.gender.extension('http://example.org/x').value", ["note"]),
    (PATIENT, "Patient.gender.extension.url", ["http://example.org/x"]),
    (PATIENT, "Patient.gender.extension.exists() and Patient.gender.id.empty()", [True]),
    (PATIENT, "Patient.managingOrganization.resolve().name", ["Trạm Y tế"]),
    (
        PATIENT,
        "Patient.gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')",
        [True],
    ),
    (PATIENT, "Patient.children().count() > 5", [True]),
    (OBSERVATION, "Observation.value.ofType(Quantity).value > 100", [True]),
    (OBSERVATION, "Observation.value > 18 'kPa'", [True]),
    (OBSERVATION, "Observation.code.coding.where(system='http://loinc.org').code", ["8480-6"]),
    (OBSERVATION, "(Observation.value as Quantity).value", [Decimal("142.5")]),
    (BUNDLE, "Bundle.entry.resource.ofType(Observation).count()", [1]),
    (BUNDLE, "Bundle.entry.resource.ofType(Observation).subject.resolve().id", ["p1"]),
    (None, "1 'kg' = 1000 'g'", [True]),
    (None, "(1 | 2 | 3).aggregate($total + $this, 0)", [6]),
    (None, "(3 | 1 | 2).sort()", [1, 2, 3]),
    (None, "'abc'.toChars().select($this + $index.toString())", ["a0", "b1", "c2"]),
]


@pytest.mark.parametrize(("resource", "expression", "expected"), CASES)
def test_evaluate(resource: Any, expression: str, expected: list[Any] | None) -> None:
    result = evaluate(resource, expression)
    if expected is None:
        assert [str(r) for r in result] == ["1986-06-01"]
    else:
        assert result == expected


def test_compile_is_cached_and_reusable() -> None:
    first = compile("Patient.name.given")
    assert compile("Patient.name.given") is first
    assert first(PATIENT) == ["Thị", "Lan", "Lan"]
    assert first({"resourceType": "Patient"}) == []


def test_variables_and_environment() -> None:
    assert evaluate(PATIENT, "%who = 'Lan'", {"who": "Lan"}) == [True]
    assert evaluate(PATIENT, "%resource.id | %context.id | %rootResource.id") == ["p1"]
    assert evaluate(None, "%ucum & ' ' & %`ext-patient-birthTime`") == [
        "http://unitsofmeasure.org http://hl7.org/fhir/StructureDefinition/patient-birthTime"
    ]
    with pytest.raises(FhirPathEvaluationError, match="undefined environment variable"):
        evaluate(PATIENT, "%nobody")


def test_injected_services() -> None:
    traced: list[tuple[str, list[Any]]] = []
    services = Services(
        resolver=lambda reference: {"resourceType": "Patient", "id": reference.split("/")[1]},
        terminology=lambda system, code, value_set: code == "8480-6",
        tracer=lambda name, items: traced.append((name, items)),
    )
    assert evaluate(OBSERVATION, "subject.resolve().id", services=services) == ["p1"]
    assert evaluate(OBSERVATION, "code.memberOf('http://x/vs')", services=services) == [True]
    evaluate(OBSERVATION, "status.trace('s')", services=services)
    assert traced == [("s", ["final"])]


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("Patient.name.single()", FhirPathEvaluationError),
        ("Patient.name.given + 1", FhirPathEvaluationError),
        ("Patient.birthDate > 'x'", FhirPathEvaluationError),
        ("Patient.nosuchfunction()", FhirPathSyntaxError),
        ("Patient.name.where()", FhirPathSyntaxError),
        ("Patient.gender.as(Strng)", FhirPathEvaluationError),
    ],
)
def test_typed_errors(expression: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        evaluate(PATIENT, expression)


def test_system_values_come_back_typed() -> None:
    (quantity,) = evaluate(None, "2 'mg' * 3")
    assert quantity == Quantity(Decimal(6), "mg")
    assert evaluate(None, "1.50 + 1") == [Decimal("2.50")]
    assert [str(d) for d in evaluate(None, "@2024-01-31 + 1 month")] == ["2024-02-29"]


def test_strict_mode_checks_paths_against_the_model() -> None:
    assert compile("Patient.name.given1")(PATIENT) == []
    with pytest.raises(FhirPathEvaluationError, match="no element given1"):
        compile("Patient.name.given1", strict=True)(PATIENT)


SUITE_PATIENT = "suites/fhirpath/r4/input-json/patient-example.json"


@pytest.mark.parametrize(
    "expression",
    [
        "Patient.birthDate",
        "Patient.name.given",
        "Patient.name.family",
        "Patient.telecom.value",
        "Patient.contact.name.family",
        "Patient.managingOrganization",
        "Observation.status",
        "Observation.value.ofType(Quantity).value",
        "Observation.code.coding.code.first()",
        "Patient.name.given.count()",
        "Patient.contact.exists()",
        "Patient.link.empty()",
        "Bundle.entry.resource.ofType(Observation).count()",
        "Bundle.entry.resource.ofType(Patient).name.family",
        "Bundle.entry.resource.ofType(Patient).name.given.count()",
        "Bundle.entry.resource.ofType(Observation).status.first()",
        "Bundle.entry.resource.ofType(Organization).exists()",
        "Bundle.entry.resource.ofType(Patient).count()",
        "Bundle.entry.resource.ofType(Observation).contained.ofType(Patient).count()",
        "Patient.contained.ofType(Organization).count()",
        "Parameters.parameter.resource.ofType(Patient).count()",
        "Bundle.entry.fullUrl",
        "Patient.contained.ofType(Organization).name",
        "Patient.name.where(use = 'official').given.first()",
        "Patient.name.where(use = 'maiden').given",
        "Observation.code.coding.where(system = 'http://loinc.org').code",
        "Patient.identifier.where(system = 'http://fhir.hl7.org.vn/core/sid/cccd').value.exists()",
        "Patient.telecom.where(use = 'home').where(system = 'phone').value",
        "Patient.birthDate < @1970-01-01",
        "Patient.birthDate >= @1985-06",
        "Observation.value.ofType(Quantity).value > 100",
        "Patient.identifier.where(system = 'http://fhir.hl7.org.vn/core/sid/cccd').value.exists()"
        " and Patient.birthDate < @1990-01-01",
        "Patient.name.exists() or Patient.birthDate > @2000",
    ],
)
def test_plain_path_shortcut_matches_the_evaluator(expression: str) -> None:
    import json

    from tests.conftest import shared_path

    example = json.loads(shared_path(*SUITE_PATIENT.split("/")).read_text(encoding="utf-8"))
    compiled = compile(expression)
    assert compiled.plain_path is not None
    for resource in (PATIENT, example, OBSERVATION, BUNDLE, ODD_BUNDLE):
        expected = [plain(item) for item in compiled.evaluate_items(resource)]
        assert compiled(resource) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "Bundle.entry.resource.ofType(Observation).count()",
        "Parameters.parameter.resource.ofType(Patient).count()",
        "Patient.contained.ofType(Organization).count()",
        "Bundle.entry.resource.ofType(Observation).contained.ofType(Patient).count()",
    ],
)
def test_resource_counts_are_counted_in_one_loop(expression: str) -> None:
    """``....ofType(<resource type>).count()`` counts without building the list of resources,
    and still answers as the evaluator does on JSON the shortcut must not trust."""
    compiled = compile(expression)
    assert compiled.plain_path is not None
    # made by resource_count(): mypyc (docs/dev/native.md) compiles a closure into an object of
    # a class named <inner>_<outer>_obj, without __qualname__
    shortcut = compiled.plain_path
    made_by = getattr(shortcut, "__qualname__", None) or type(shortcut).__name__
    assert made_by.startswith("resource_count.") or made_by.endswith("_resource_count_obj")
    organization = {"resourceType": "Organization", "name": "BV"}
    holders = [
        {**PATIENT, "contained": [organization, None, "x", [organization], organization]},
        {**OBSERVATION, "contained": [PATIENT, {"resourceType": "Patient"}, {"id": "no type"}]},
        {"resourceType": "Parameters", "parameter": [{"resource": PATIENT}, {"name": "x"}, 7]},
        {"resourceType": "Parameters", "parameter": {"resource": PATIENT}},  # not an array
    ]
    odd = {**ODD_BUNDLE, "entry": [*ODD_BUNDLE["entry"], *({"resource": h} for h in holders)]}
    for resource in (PATIENT, BUNDLE, ODD_BUNDLE, odd, *holders):
        expected = [plain(item) for item in compiled.evaluate_items(resource)]
        assert compiled(resource) == expected


def test_now_is_one_instant_per_evaluation() -> None:
    assert evaluate(None, "now() = now() and today() = now().toDate()") == [True]
    compiled = compile("now()")
    assert compiled.shared_environment is None  # a new instant on each call, not a stale one


@pytest.mark.parametrize(
    ("narrowed", "generic"),
    [
        (
            "Bundle.entry.resource.ofType(Observation)",
            "Bundle.entry.select(resource).ofType(Observation)",
        ),
        (
            "Bundle.entry.resource.ofType(Patient).name",
            "Bundle.entry.select(resource).ofType(Patient).name",
        ),
        (
            "Patient.contained.ofType(Organization)",
            "Patient.select(contained).ofType(Organization)",
        ),
    ],
)
def test_resource_of_type_reads_like_the_generic_filter(narrowed: str, generic: str) -> None:
    """``<Resource element>.ofType(<resource type>)`` tests ``resourceType`` before wrapping;
    ``select(...)`` keeps the generic navigate-then-filter route to compare with."""
    for resource in (PATIENT, BUNDLE, ODD_BUNDLE):
        fast = compile(narrowed).evaluate_items(resource)
        slow = compile(generic).evaluate_items(resource)
        assert [(item.data, item.type, item.element) for item in fast] == [
            (item.data, item.type, item.element) for item in slow
        ]


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "Patient", "birthDate": "1970-02-03"},
        {"resourceType": "Patient"},
        {"resourceType": "Patient", "birthDate": "1970", "_birthDate": {"extension": []}},
        {"resourceType": "Patient", "_birthDate": {"id": "x"}},
        {"resourceType": "Observation", "birthDate": "1970-02-03"},
    ],
)
def test_one_step_paths_inline_the_lookup_and_match_the_evaluator(
    resource: dict[str, object],
) -> None:
    """Most search parameters are one member step; their compiled form reads the key itself and
    hands anything unusual (a primitive's ``_key``, another resource type) to the evaluator."""
    from yteso.fhirpath.engine import OneStepExpression

    for expression in ("Patient.birthDate", "Patient.name", "Observation.subject"):
        compiled = compile(expression)
        assert isinstance(compiled, OneStepExpression)
        expected = [plain(item) for item in compiled.evaluate_items(resource)]
        assert compiled(resource) == expected
    names = {"resourceType": "Patient", "name": [{"family": "Lê"}, None, {"given": ["An"]}]}
    assert compile("Patient.name")(names) == [{"family": "Lê"}, {"given": ["An"]}]
    assert not isinstance(compile("Patient.name.given"), OneStepExpression)
    assert not isinstance(compile("Patient.birthDate", strict=True), OneStepExpression)


@pytest.mark.parametrize("value", [100, 100.0, 100.5, Decimal("100.00"), Decimal("99.99"), 7])
@pytest.mark.parametrize(
    "expression",
    [
        "Observation.value.ofType(Quantity).value > 100",
        "Observation.value.ofType(Quantity).value <= 100.00",
        "Observation.value.ofType(Quantity).value >= 100.5",
        "Observation.value.ofType(Quantity).value < 8",
    ],
)
def test_number_comparisons_of_the_shortcut_match_the_evaluator(
    value: object, expression: str
) -> None:
    resource = {"resourceType": "Observation", "valueQuantity": {"value": value}}
    compiled = compile(expression)
    assert compiled.plain_path is not None
    assert compiled(resource) == [plain(item) for item in compiled.evaluate_items(resource)]
