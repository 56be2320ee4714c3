"""The Java validator's optional settings, document/message Bundle references, and the write gate
(structure then invariants) that the HL7 suite, ``$validate`` and every write share."""

from __future__ import annotations

from typing import Any

import pytest

from yteso.fhir.validation import PLATFORM_OPTIONS, ValidationOptions, validate
from yteso.store.validation_gate import resource_issues

BASE = "http://example.vn/fhir/"


def error_paths(issues: list[Any]) -> set[str]:
    return {i.expression[0] for i in issues if i.severity in ("error", "fatal")}


def patient(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p", **extra}


OPTION_CASES: list[tuple[str, ValidationOptions, dict[str, Any], set[str]]] = [
    (
        "example URL allowed by default",
        PLATFORM_OPTIONS,
        patient(photo=[{"url": "http://repo.example.org/x.png"}]),
        set(),
    ),
    (
        "example URL refused",
        ValidationOptions(example_urls_allowed=False),
        patient(photo=[{"url": "http://repo.example.org/x.png"}]),
        {"Patient.photo[0].url"},
    ),
    (
        "example reference refused",
        ValidationOptions(example_urls_allowed=False),
        patient(managingOrganization={"reference": "https://example.com/fhir/Organization/1"}),
        {"Patient.managingOrganization.reference"},
    ),
    (
        "a string is not a URL",
        ValidationOptions(example_urls_allowed=False),
        patient(name=[{"text": "http://example.org"}]),
        set(),
    ),
    (
        "HTML in a string, security checks off",
        PLATFORM_OPTIONS,
        patient(name=[{"text": "Standard <script>x</script>"}]),
        set(),
    ),
    (
        "HTML in a string, security checks on",
        ValidationOptions(security_checks=True),
        patient(name=[{"text": "Standard <script>x</script>"}]),
        {"Patient.name[0].text"},
    ),
    (
        "a less-than sign is not a tag",
        ValidationOptions(security_checks=True),
        patient(name=[{"text": "a < b"}]),
        set(),
    ),
    (
        "HTML in markdown, refused",
        ValidationOptions(no_html_in_markdown=True),
        {
            "resourceType": "Communication",
            "status": "completed",
            "note": [{"text": "see <resource type>"}],
        },
        {"Communication.note[0].text"},
    ),
    (
        "experimental content refused",
        ValidationOptions(experimental_allowed=False),
        {"resourceType": "ValueSet", "status": "draft", "experimental": True},
        {"ValueSet.experimental"},
    ),
    (
        "narrative without content (txt-2)",
        PLATFORM_OPTIONS,
        patient(
            text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"> </div>'}
        ),
        {"Patient.text.div"},
    ),
    (
        "a contained resource refers to its container as # (ref-1 as R4B/R5 publish it)",
        PLATFORM_OPTIONS,
        patient(
            contained=[
                {
                    "resourceType": "Organization",
                    "id": "o",
                    "name": "BV",
                    "partOf": {"reference": "#"},
                }
            ],
            managingOrganization={"reference": "#o"},
        ),
        set(),
    ),
    (
        "contained resources not validated",
        ValidationOptions(validate_contained=False),
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/1"},
            "contained": [{"resourceType": "Practitioner", "id": "x" * 65}],
        },
        set(),
    ),
]


@pytest.mark.parametrize(
    ("options", "resource", "expected"),
    [pytest.param(o, r, e, id=n) for n, o, r, e in OPTION_CASES],
)
def test_optional_checks(
    options: ValidationOptions, resource: dict[str, Any], expected: set[str]
) -> None:
    assert error_paths(resource_issues(resource, options)) == expected


def parameters(beneficiary: str) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "resource": patient(id="1")},
            {
                "name": "coverage",
                "resource": {
                    "resourceType": "Coverage",
                    "id": "c",
                    "status": "active",
                    "beneficiary": {"reference": beneficiary},
                    "payor": [{"display": "BHXH"}],
                },
            },
        ],
    }


@pytest.mark.parametrize(
    ("beneficiary", "resolve", "expected"),
    [
        ("Patient/1", True, set()),
        ("Patient/2", True, {"Parameters.parameter[1].resource.beneficiary"}),
        ("Patient/2", False, set()),
    ],
)
def test_references_inside_parameters(beneficiary: str, resolve: bool, expected: set[str]) -> None:
    options = ValidationOptions(resolve_local_references=resolve)
    assert error_paths(validate(parameters(beneficiary), options)) == expected


def document(*references: str, versions: tuple[str, ...] = ("1",)) -> dict[str, Any]:
    composition = {
        "resourceType": "Composition",
        "id": "c",
        "status": "final",
        "type": {"text": "summary"},
        "date": "2024-05-01",
        "title": "Tóm tắt",
        "author": [{"reference": "Practitioner/d"}],
        "section": [{"title": "Kết quả", "entry": [{"reference": r} for r in references]}],
    }
    entries = [{"fullUrl": BASE + "Composition/c", "resource": composition}]
    entries.append(
        {
            "fullUrl": BASE + "Practitioner/d",
            "resource": {"resourceType": "Practitioner", "id": "d"},
        }
    )
    for version in versions:
        observation = {
            "resourceType": "Observation",
            "id": "o",
            "meta": {"versionId": version},
            "status": "final",
            "code": {"text": "x"},
        }
        entries.append({"fullUrl": BASE + "Observation/o", "resource": observation})
    return {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:1"},
        "timestamp": "2024-05-01T00:00:00Z",
        "entry": entries,
    }


SECTION = "Bundle.entry[0].resource.section[0].entry[0].reference"


@pytest.mark.parametrize(
    ("bundle", "expected"),
    [
        (document("Observation/o"), set()),
        (document(BASE + "Observation/o"), set()),
        (document("Observation/o/_history/1"), set()),
        (document("Observation/o/_history/3"), {SECTION}),
        (document("Observation/missing"), {SECTION}),
        (document("Observation/o", versions=("1", "2")), {SECTION}),
        (document("Observation/o/_history/2", versions=("1", "2")), set()),
        (document("http://elsewhere.vn/fhir/Observation/o"), {SECTION}),
        ({**document("Observation/missing"), "type": "collection"}, set()),
    ],
)
def test_document_references_resolve_in_the_bundle(
    bundle: dict[str, Any], expected: set[str]
) -> None:
    assert error_paths(validate(bundle)) == expected


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        # per-1: start and end at different precisions cannot be compared: not true, so it fails
        (
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"code": "AMB"},
                "period": {"start": "2023-06-21", "end": "2023-06-21T06:20:00Z"},
            },
            {"Encounter.period"},
        ),
        (
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"code": "AMB"},
                "period": {"start": "2023-06-21T05:00:00Z", "end": "2023-06-21T06:20:00Z"},
            },
            set(),
        ),
        # ref-1 holds for a Reference without a literal reference
        (patient(managingOrganization={"display": "Bệnh viện Bạch Mai"}), set()),
        (patient(managingOrganization={"reference": "#nowhere"}), {"Patient.managingOrganization"}),
    ],
)
def test_write_gate_runs_structure_and_invariants(
    resource: dict[str, Any], expected: set[str]
) -> None:
    assert error_paths(resource_issues(resource)) == expected


_OUTCOME_ISSUE = {"severity": "information", "code": "informational"}
_FILL: dict[str, dict[str, Any]] = {
    "OperationOutcome": {"issue": [_OUTCOME_ISSUE]},
    "Patient": {},
    "Practitioner": {},
}


def searchset(self_url: str, *entries: tuple[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {"search": {"mode": mode}, "resource": {"resourceType": kind, "id": "x", **_FILL[kind]}}
            for mode, kind in entries
        ],
    }


@pytest.mark.parametrize(
    ("bundle", "expected"),
    [
        (
            searchset(BASE + "Patient?name=an", ("match", "Patient"), ("include", "Practitioner")),
            set(),
        ),
        (
            searchset(BASE + "Patient?name=an", ("match", "Practitioner")),
            {"Bundle.entry[0].resource"},
        ),
        (searchset(BASE + "?_type=Patient,Practitioner", ("match", "Practitioner")), set()),
        (
            searchset(BASE + "?_type=Patient", ("match", "Practitioner")),
            {"Bundle.entry[0].resource"},
        ),
        (searchset(BASE + "Patient", ("outcome", "OperationOutcome")), set()),
        (searchset(BASE + "Patient", ("outcome", "Patient")), {"Bundle.entry[0].resource"}),
    ],
)
def test_search_modes(bundle: dict[str, Any], expected: set[str]) -> None:
    assert error_paths(validate(bundle)) == expected


def encounter_class(system: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": system, "code": code},
    }


ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (encounter_class(ACT_CODE, "AMB"), set()),
        (encounter_class(ACT_CODE, "NOPE"), {"Encounter.class.code"}),
        (
            encounter_class(ACT_CODE, "amb"),
            {"Encounter.class.code"},
        ),  # v3-ActCode is case-sensitive
        (encounter_class("http://example.vn/cs/local", "NOPE"), set()),  # not a core system
        (
            patient(
                maritalStatus={
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "mr"}
                    ]
                }
            ),
            set(),  # v2 tables do not say they are case-sensitive
        ),
        (
            patient(
                identifier=[
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                    "code": "XX9",
                                }
                            ]
                        },
                        "value": "1",
                    }
                ]
            ),
            {"Patient.identifier[0].type.coding[0].code"},
        ),
    ],
)
def test_codes_of_core_code_systems(resource: dict[str, Any], expected: set[str]) -> None:
    assert error_paths(validate(resource)) == expected


@pytest.mark.parametrize(
    ("bundle_type", "reference", "warned"),
    [
        ("collection", "urn:uuid:0b1e2c3d-0000-4000-8000-000000000001", False),
        ("collection", "urn:uuid:0b1e2c3d-0000-4000-8000-000000000009", True),
        ("transaction", "urn:uuid:0b1e2c3d-0000-4000-8000-000000000009", True),
        ("searchset", "urn:uuid:0b1e2c3d-0000-4000-8000-000000000009", False),
    ],
)
def test_urn_references_name_an_entry(bundle_type: str, reference: str, warned: bool) -> None:
    observation = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": reference},
    }
    entries: list[dict[str, Any]] = [
        {"fullUrl": "urn:uuid:0b1e2c3d-0000-4000-8000-000000000001", "resource": patient()},
        {"fullUrl": "urn:uuid:0b1e2c3d-0000-4000-8000-000000000002", "resource": observation},
    ]
    if bundle_type == "transaction":
        for entry in entries:
            entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    issues = validate({"resourceType": "Bundle", "type": bundle_type, "entry": entries})
    assert error_paths(issues) == set()
    warnings = {i.expression[0] for i in issues if i.severity == "warning"}
    assert warnings == ({"Bundle.entry[1].resource.subject.reference"} if warned else set())
