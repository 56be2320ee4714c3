"""Structural validation: each invalid input yields exactly the expected (code, expression) set."""

from __future__ import annotations

import copy
import re
import sys
import threading
from typing import Any

import pytest

from yteso.fhir.errors import Issue
from yteso.fhir.validation import has_errors, primitives, specs, validate, validate_json_bytes
from yteso.fhir.validation.primitives import primitive_check

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"versionId": "1", "lastUpdated": "2024-05-01T08:30:00+07:00"},
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">An</div>'},
    "identifier": [{"system": "http://fhir.hl7.org.vn/core/sid/cccd", "value": "001085012345"}],
    "name": [{"family": "Nguyễn", "given": ["Văn", "An"]}],
    "gender": "male",
    "birthDate": "1985-04-12",
    "multipleBirthInteger": 2,
    "photo": [{"contentType": "image/png", "data": "aGVsbG8=", "size": 5}],
    "managingOrganization": {"reference": "Organization/o1"},
}

OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2024-05-01T08:45:00+07:00",
    "component": [
        {"code": {"text": "systolic"}, "valueQuantity": {"value": 120, "unit": "mmHg"}},
        {"code": {"text": "diastolic"}, "valueQuantity": {"value": 80.5, "unit": "mmHg"}},
    ],
}


CONDITION: dict[str, Any] = {
    "resourceType": "Condition",
    "clinicalStatus": {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": "active",
            }
        ]
    },
    "subject": {"reference": "Patient/p1"},
}


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with top-level keys replaced (None removes the key)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def errors(resource: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (i.code, i.expression[0] if i.expression else "")
        for i in validate(resource)
        if i.severity != "information"  # unknown extensions (http://x.org/e)
    }


VALID = [
    CONDITION,
    PATIENT,
    changed(
        PATIENT,
        extension=[
            {
                "url": "http://x.org/e",
                "_valueCode": {
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                            "valueCode": "unknown",
                        }
                    ]
                },
            }
        ],
    ),
    OBSERVATION,
    changed(PATIENT, _birthDate={"extension": [{"url": "http://x.org/e", "valueBoolean": True}]}),
    changed(
        PATIENT,
        name=[
            {
                "given": ["A", None],
                "_given": [
                    {"id": "g1"},
                    {"extension": [{"url": "http://x.org/e", "valueCode": "a"}]},
                ],
            }
        ],
    ),
    changed(
        PATIENT,
        contained=[{"resourceType": "Organization", "id": "o", "name": "BV"}],
        managingOrganization={"reference": "#o"},
    ),
    changed(PATIENT, managingOrganization={"reference": "http://example.vn/fhir/Organization/1"}),
    changed(
        PATIENT, managingOrganization={"reference": "urn:uuid:6f1b0c3e-0d1c-4d5e-8f00-1a2b3c4d5e6f"}
    ),
    changed(PATIENT, managingOrganization={"reference": "Organization?identifier=x|1"}),
    changed(
        PATIENT,
        extension=[{"url": "http://x.org/a", "extension": [{"url": "b", "valueString": "c"}]}],
    ),
    changed(
        OBSERVATION, valueString="ok", effectiveDateTime=None, effectivePeriod={"start": "2024"}
    ),
    {
        "resourceType": "Questionnaire",
        "status": "draft",
        "item": [{"linkId": "1", "type": "group", "item": [{"linkId": "1.1", "type": "string"}]}],
    },
    {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "http://example.vn/fhir/Patient/p1", "resource": PATIENT}],
    },
]


@pytest.mark.parametrize("resource", VALID)
def test_valid_resources_have_no_issues(resource: dict[str, Any]) -> None:
    # unknown extensions (http://x.org/e) are information only: they cannot be checked here
    assert [i for i in validate(resource) if i.severity != "information"] == []


CASES: list[tuple[str, dict[str, Any], set[tuple[str, str]]]] = [
    ("no resourceType", {"id": "x"}, {("structure", "")}),
    ("unknown resourceType", {"resourceType": "Patients"}, {("structure", "")}),
    ("unknown element", changed(PATIENT, foo=1), {("structure", "Patient.foo")}),
    (
        "fhir_comments",
        changed(PATIENT, fhir_comments=["x"]),
        {("structure", "Patient.fhir_comments")},
    ),
    ("number for date", changed(PATIENT, birthDate=1985), {("structure", "Patient.birthDate")}),
    ("string for boolean", changed(PATIENT, active="true"), {("structure", "Patient.active")}),
    ("array for single", changed(PATIENT, gender=["male"]), {("structure", "Patient.gender")}),
    ("object for array", changed(PATIENT, name={"family": "A"}), {("structure", "Patient.name")}),
    (
        "string for object",
        changed(PATIENT, maritalStatus="M"),
        {("structure", "Patient.maritalStatus")},
    ),
    (
        "required missing",
        changed(OBSERVATION, status=None, code=None),
        {("required", "Observation.status"), ("required", "Observation.code")},
    ),
    (
        "backbone required",
        changed(OBSERVATION, component=[OBSERVATION["component"][0], {"valueString": "x"}]),
        {("required", "Observation.component[1].code")},
    ),
    ("unknown choice", changed(OBSERVATION, valueFoo="x"), {("structure", "Observation.valueFoo")}),
    (
        "two choices",
        changed(OBSERVATION, valueString="a", valueBoolean=True),
        {("structure", "Observation.valueBoolean")},
    ),
    ("bad date", changed(PATIENT, birthDate="1985-13-01"), {("value", "Patient.birthDate")}),
    (
        "not a calendar day",
        changed(PATIENT, birthDate="2023-02-29"),
        {("value", "Patient.birthDate")},
    ),
    (
        "dateTime without zone",
        changed(OBSERVATION, effectiveDateTime="2024-05-01T08:45:00"),
        {("value", "Observation.effective.ofType(dateTime)")},
    ),
    (
        "instant without seconds",
        changed(OBSERVATION, issued="2024-05-01T08:45+07:00"),
        {("value", "Observation.issued")},
    ),
    ("bad id", changed(PATIENT, id="a_b"), {("value", "Patient.id")}),
    ("id too long", changed(PATIENT, id="x" * 65), {("value", "Patient.id")}),
    (
        "uri with space",
        changed(PATIENT, implicitRules="http://a b"),
        {("value", "Patient.implicitRules")},
    ),
    ("code with leading space", changed(PATIENT, language=" vi"), {("value", "Patient.language")}),
    (
        "decimal as string",
        changed(OBSERVATION, valueQuantity={"value": "1.5"}),
        {("structure", "Observation.value.ofType(Quantity).value")},
    ),
    (
        "integer out of range",
        changed(PATIENT, multipleBirthInteger=2**31),
        {("value", "Patient.multipleBirth.ofType(integer)")},
    ),
    (
        "integer as decimal",
        changed(PATIENT, multipleBirthInteger=2.5),
        {("structure", "Patient.multipleBirth.ofType(integer)")},
    ),
    (
        "negative unsignedInt",
        changed(PATIENT, photo=[{"size": -1}]),
        {("value", "Patient.photo[0].size")},
    ),
    (
        "bad base64",
        changed(PATIENT, photo=[{"data": "%%%2@()()"}]),
        {("value", "Patient.photo[0].data")},
    ),
    (
        "attachment size",
        changed(PATIENT, photo=[{"data": "aGVsbG8=", "size": 100}]),
        {("value", "Patient.photo[0].size")},
    ),
    (
        "empty string",
        changed(PATIENT, name=[{"family": ""}]),
        {("value", "Patient.name[0].family")},
    ),
    (
        "empty uri",
        changed(PATIENT, implicitRules=""),
        {("value", "Patient.implicitRules")},
    ),
    (
        "empty canonical",
        changed(PATIENT, meta={"profile": [""]}),
        {("value", "Patient.meta.profile[0]")},
    ),
    (
        "string over 1MB",
        changed(PATIENT, name=[{"family": "a" * (1024 * 1024 + 1)}]),
        {("value", "Patient.name[0].family")},
    ),
    (
        "given wrong type",
        changed(PATIENT, name=[{"given": ["a", "b", 3]}]),
        {("structure", "Patient.name[0].given[2]")},
    ),
    ("empty object", changed(PATIENT, maritalStatus={}), {("invariant", "Patient.maritalStatus")}),
    (
        "only id",
        changed(PATIENT, maritalStatus={"id": "m"}),
        {("invariant", "Patient.maritalStatus")},
    ),
    ("empty array", changed(PATIENT, name=[]), {("structure", "Patient.name")}),
    ("empty in array", changed(PATIENT, name=[{}]), {("invariant", "Patient.name[0]")}),
    (
        "empty primitive extension",
        changed(PATIENT, _birthDate={}),
        {("invariant", "Patient._birthDate")},
    ),
    (
        "unknown primitive extension",
        changed(PATIENT, _foo={"id": "a", "extension": []}),
        {("structure", "Patient._foo")},
    ),
    (
        "extension on complex",
        changed(PATIENT, _name=[{"id": "x"}]),
        {("structure", "Patient._name")},
    ),
    (
        "null without extension",
        changed(PATIENT, name=[{"given": ["a", None]}]),
        {("structure", "Patient.name[0].given[1]")},
    ),
    (
        "misaligned _given",
        changed(
            PATIENT,
            name=[
                {
                    "given": ["a"],
                    "_given": [None, {"extension": [{"url": "http://x.org/e", "valueCode": "a"}]}],
                }
            ],
        ),
        {("structure", "Patient.name[0]._given")},
    ),
    (
        "extension without url",
        changed(PATIENT, extension=[{"valueString": "x"}]),
        {("required", "Patient.extension[0].url")},
    ),
    (
        "extension value and children",
        changed(
            PATIENT,
            extension=[
                {
                    "url": "http://x.org/e",
                    "valueString": "x",
                    "extension": [{"url": "a", "valueCode": "b"}],
                }
            ],
        ),
        {("invariant", "Patient.extension[0]")},
    ),
    (
        "extension with neither",
        changed(PATIENT, modifierExtension=[{"url": "http://x.org/e"}]),
        {("invariant", "Patient.modifierExtension[0]")},
    ),
    (
        "nested contained",
        changed(
            PATIENT,
            contained=[
                {
                    "resourceType": "Organization",
                    "id": "o",
                    "contained": [{"resourceType": "Organization", "id": "o2", "name": "x"}],
                }
            ],
        ),
        {("invariant", "Patient.contained[0].contained")},
    ),
    (
        "contained with versionId",
        changed(
            PATIENT,
            contained=[{"resourceType": "Organization", "id": "o", "meta": {"versionId": "1"}}],
        ),
        {("invariant", "Patient.contained[0].meta.versionId")},
    ),
    (
        "contained bad element",
        changed(PATIENT, contained=[{"resourceType": "Organization", "id": "o", "nom": "x"}]),
        {("structure", "Patient.contained[0].nom")},
    ),
    (
        "bundle entry",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": changed(PATIENT, birthDate="x")}],
        },
        {("value", "Bundle.entry[0].resource.birthDate")},
    ),
    (
        "relative fullUrl",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": "Patient/p1", "resource": PATIENT}],
        },
        {("invalid", "Bundle.entry[0].fullUrl")},
    ),
    (
        "fullUrl disagrees",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": "http://x.vn/fhir/Patient/p2", "resource": PATIENT}],
        },
        {("invalid", "Bundle.entry[0].fullUrl")},
    ),
    (
        "reference target",
        changed(OBSERVATION, subject={"reference": "Medication/m1"}),
        {("value", "Observation.subject.reference")},
    ),
    (
        "reference unknown type",
        changed(OBSERVATION, subject={"reference": "Foo/1"}),
        {("value", "Observation.subject.reference")},
    ),
    (
        "reference format",
        changed(OBSERVATION, subject={"reference": "patient 1"}),
        {("value", "Observation.subject.reference")},
    ),
    (
        "absolute reference target",
        changed(OBSERVATION, subject={"reference": "http://x.vn/fhir/Medication/1"}),
        {("value", "Observation.subject.reference")},
    ),
    (
        "SimpleQuantity comparator",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "valueRange": {"low": {"value": 1, "comparator": "<"}},
        },
        {("structure", "Observation.value.ofType(Range).low.comparator")},
    ),
    ("required binding code", changed(PATIENT, gender="man"), {("code-invalid", "Patient.gender")}),
    (
        "required binding status",
        changed(OBSERVATION, status="done"),
        {("code-invalid", "Observation.status")},
    ),
    (
        "relative coding system",
        changed(OBSERVATION, code={"coding": [{"system": "loinc", "code": "1"}]}),
        {("value", "Observation.code.coding[0].system")},
    ),
    (
        "value set as coding system",
        changed(
            OBSERVATION,
            code={
                "coding": [
                    {"system": "http://hl7.org/fhir/ValueSet/observation-codes", "code": "1"}
                ]
            },
        ),
        {("value", "Observation.code.coding[0].system")},
    ),
    (
        "coding outside a required value set",
        changed(
            CONDITION,
            clinicalStatus={
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "gone",
                    }
                ]
            },
        ),
        {
            ("code-invalid", "Condition.clinicalStatus"),  # the required value set
            ("code-invalid", "Condition.clinicalStatus.coding[0].code"),  # the code system
        },
    ),
    (  # a code of the wrong JSON type is reported as such, never looked up in the value set
        "object as a required binding's code",
        changed(
            CONDITION,
            clinicalStatus={
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": {"c": 1},
                    }
                ]
            },
        ),
        {("structure", "Condition.clinicalStatus.coding[0].code")},
    ),
    (
        "array as a required binding's system",
        changed(
            CONDITION,
            clinicalStatus={
                "coding": [
                    {
                        "system": ["http://terminology.hl7.org/CodeSystem/condition-clinical"],
                        "code": "active",
                    }
                ]
            },
        ),
        {("structure", "Condition.clinicalStatus.coding[0].system")},
    ),
    (
        "div without namespace",
        changed(PATIENT, text={"status": "generated", "div": "<div>x</div>"}),
        {("value", "Patient.text.div")},
    ),
    (
        "div not a div",
        changed(PATIENT, text={"status": "generated", "div": "<p>x</p>"}),
        {("value", "Patient.text.div")},
    ),
    (
        "div with script",
        changed(
            PATIENT,
            text={
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script></div>',
            },
        ),
        {("value", "Patient.text.div")},
    ),
    (
        "recursive item",
        {
            "resourceType": "Questionnaire",
            "status": "draft",
            "item": [
                {
                    "linkId": "1",
                    "type": "group",
                    "item": [{"linkId": "2", "type": "string", "x": 1}],
                }
            ],
        },
        {("structure", "Questionnaire.item[0].item[0].x")},
    ),
]


@pytest.mark.parametrize(
    ("resource", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_resources(resource: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    issues = [i for i in validate(resource) if i.severity != "information"]
    assert errors(resource) == expected
    assert len(issues) == len(expected)
    assert has_errors(issues)


def test_all_problems_reported_at_once() -> None:
    resource = changed(PATIENT, foo=1, gender="man", birthDate="x", name=[{}], status="y")
    assert errors(resource) == {
        ("structure", "Patient.foo"),
        ("structure", "Patient.status"),
        ("code-invalid", "Patient.gender"),
        ("value", "Patient.birthDate"),
        ("invariant", "Patient.name[0]"),
    }


@pytest.mark.parametrize(
    ("data", "parsed", "codes"),
    [
        (b'{"resourceType": "Patient", "id": "a"}', True, []),
        (b'{"resourceType": "Patient", "id": "a_"}', True, ["value"]),
        (b'{"resourceType": "Patient",', False, ["structure"]),
        (b"[1, 2]", False, ["structure"]),
    ],
)
def test_validate_json_bytes(data: bytes, parsed: bool, codes: list[str]) -> None:
    resource, issues = validate_json_bytes(data)
    assert (resource is not None) == parsed
    assert [i.code for i in issues] == codes
    if not parsed:
        assert issues[0].severity == "fatal"


def test_concurrent_first_use_sees_only_complete_specs() -> None:
    """Threads racing to build the same specs never see a half-filled one."""
    specs._specs.clear()
    barrier = threading.Barrier(8)
    results: list[list[Issue]] = []

    def work(resource: dict[str, Any]) -> None:
        barrier.wait()
        results.append([i for i in validate(resource) if i.severity != "information"])

    threads = [threading.Thread(target=work, args=(VALID[i % len(VALID)],)) for i in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often so a race would show
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert results == [[]] * 8


@pytest.mark.parametrize(
    ("type_name", "valid", "invalid"),
    [("date", "2024-02-29", "2023-02-29"), ("code", "final", " final"), ("id", "a-1", "a_1")],
)
def test_remembered_valid_primitives_never_let_an_invalid_one_through(
    type_name: str, valid: str, invalid: str
) -> None:
    check = primitive_check(type_name)
    verdicts = [check(value) is None for value in (valid, invalid, valid, invalid, invalid)]
    assert verdicts == [True, False, True, False, False]


@pytest.mark.parametrize("type_name", ["string", "markdown", "someUnknownType"])
def test_text_checks_agree_with_the_r4_regex(type_name: str) -> None:
    """string/markdown are checked by two character searches, not the regex: the same verdict
    and the same problem for every character (and a few non-string values)."""
    fullmatch = re.compile(r"[ \r\n\t\S]+", re.ASCII | re.DOTALL).fullmatch
    check = primitive_check(type_name)
    named = "string" if type_name == "someUnknownType" else type_name
    samples: list[object] = ["", " ", "a", "Lê Đức", "\u00a0", "\u2028", "\x1c", None, 1, [], {}]
    samples += [f"a{chr(code)}b" for code in range(0x3100)] + [chr(code) for code in range(0x80)]
    for value in samples:
        verdict = check(value)
        assert (verdict is None) == (type(value) is str and fullmatch(value) is not None), value
        if verdict is not None:
            assert verdict == primitives._string_problem(named, value, fullmatch)


def test_a_remembered_reference_type_is_still_checked_against_each_element() -> None:
    """``references`` remembers the type of a relative reference text; the same text is then
    allowed where its type is a target and reported where it is not, every time."""
    allowed = copy.deepcopy(PATIENT)
    allowed["managingOrganization"] = {"reference": "Organization/o7"}
    wrong = copy.deepcopy(PATIENT)
    wrong["managingOrganization"] = {"reference": "Patient/p7"}
    subject = copy.deepcopy(OBSERVATION)
    subject["subject"] = {"reference": "Patient/p7"}
    bad_shape = copy.deepcopy(PATIENT)
    bad_shape["managingOrganization"] = {"reference": "Organization/o 7"}
    for _ in range(2):
        assert not has_errors(validate(allowed))
        assert not has_errors(validate(subject))
        issues = [(i.code, i.expression) for i in validate(wrong) if i.severity == "error"]
        assert issues == [("value", ("Patient.managingOrganization.reference",))]
        issues = [(i.code, i.expression) for i in validate(bad_shape) if i.severity == "error"]
        assert issues == [("value", ("Patient.managingOrganization.reference",))]
