"""FHIR's FHIRPath additions: conformsTo() and htmlChecks() — https://hl7.org/fhir/R4/fhirpath.html#functions"""

from __future__ import annotations

from typing import Any

import pytest

from yteso.fhirpath import FhirPathEvaluationError, Node, Services, evaluate

CORE = "http://hl7.org/fhir/StructureDefinition/"
NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">An</div>'}
PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "text": NARRATIVE,
    "gender": "female",
    "birthDate": "1990-05-17",
    "name": [{"family": "Nguyễn", "given": ["An"]}],
    "contact": [{"gender": "male", "name": {"family": "Trần"}}],
}


@pytest.mark.parametrize(
    ("resource", "expression", "expected"),
    [
        (PATIENT, f"conformsTo('{CORE}Patient')", [True]),
        (PATIENT, f"conformsTo('{CORE}DomainResource')", [True]),  # Patient specialises it
        (PATIENT, f"conformsTo('{CORE}Patient|4.0.1')", [True]),
        (PATIENT, f"conformsTo('{CORE}Observation')", [False]),
        # structurally invalid: a code outside the required value set, an unknown element
        ({**PATIENT, "gender": "nonsense"}, f"conformsTo('{CORE}Patient')", [False]),
        ({**PATIENT, "colour": "blue"}, f"conformsTo('{CORE}Patient')", [False]),
        ({**PATIENT, "birthDate": "1990-13-01"}, f"conformsTo('{CORE}Patient')", [False]),
        # invariant-breaking: pat-1 (a contact with neither details nor organization)
        ({**PATIENT, "contact": [{"gender": "male"}]}, f"conformsTo('{CORE}Patient')", [False]),
        # elements of a datatype, checked against that type's definition and invariants
        (PATIENT, f"name.first().conformsTo('{CORE}HumanName')", [True]),
        (PATIENT, f"name.first().conformsTo('{CORE}Element')", [True]),
        ({**PATIENT, "name": [{"given": [7]}]}, f"name.conformsTo('{CORE}HumanName')", [False]),
        (
            {
                **PATIENT,
                "contact": [
                    {
                        "name": {"family": "T"},
                        "period": {"start": "2020-02-01", "end": "2020-01-01"},
                    }
                ],
            },
            f"contact.period.conformsTo('{CORE}Period')",
            [False],  # per-1: start after end
        ),
        (PATIENT, f"birthDate.conformsTo('{CORE}date')", [True]),
        (PATIENT, f"birthDate.conformsTo('{CORE}string')", [False]),
        (PATIENT, f"'text'.conformsTo('{CORE}string')", [False]),  # a System value
        # empty input (or an empty profile) gives empty
        (PATIENT, f"deceased.conformsTo('{CORE}boolean')", []),
        (PATIENT, "conformsTo({})", []),
    ],
)
def test_conforms_to_core_profiles(
    resource: dict[str, Any], expression: str, expected: list[bool]
) -> None:
    assert evaluate(resource, expression) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "conformsTo('http://trash')",
        f"conformsTo('{CORE}NoSuchType')",
        "conformsTo('http://fhir.hl7.org.vn/core/StructureDefinition/vn-core-patient')",
        f"name.given.conformsTo('{CORE}string')",  # more than one item
    ],
)
def test_conforms_to_errors(expression: str) -> None:
    resource = {**PATIENT, "name": [{"given": ["An", "Bình"]}]}
    with pytest.raises(FhirPathEvaluationError):
        evaluate(resource, expression)


def test_conforms_to_asks_the_injected_profile_check() -> None:
    vn_core = "http://fhir.hl7.org.vn/core/StructureDefinition/vn-core-patient"
    asked: list[tuple[str | None, str]] = []

    def profiles(element: Node, url: str) -> bool | None:
        asked.append((element.type, url))
        return element.data.get("gender") == "female" if url == vn_core else None

    services = Services(profiles=profiles)
    assert evaluate(PATIENT, f"conformsTo('{vn_core}')", services=services) == [True]
    male = {**PATIENT, "gender": "male"}
    assert evaluate(male, f"conformsTo('{vn_core}')", services=services) == [False]
    with pytest.raises(FhirPathEvaluationError, match="unknown profile"):
        evaluate(PATIENT, f"conformsTo('{CORE}Patient')", services=services)
    assert asked == [("Patient", vn_core), ("Patient", vn_core), ("Patient", f"{CORE}Patient")]


XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


@pytest.mark.parametrize(
    ("div", "expected"),
    [
        (f"<div {XHTML}>Nguyễn An</div>", True),
        (
            f'<div {XHTML}><p class="x" style="color:red">Hi <b>An</b><br/></p><table border="1">'
            f'<tr><td colspan="2">1</td></tr></table><a href="#p1">self</a><img src="#i" alt="i"/>'
            "</div>",
            True,
        ),
        (f"<div {XHTML}>&lt;script&gt; is text here</div>", True),
        (f'<div {XHTML}><img src="#photo"/></div>', True),  # an image is content (txt-2)
        # active content
        (f"<div {XHTML}>An<script>alert(1)</script></div>", False),
        (f'<div {XHTML}><p onclick="alert(1)">An</p></div>', False),
        (f'<div {XHTML}><img src="#a" onerror="alert(1)"/></div>', False),
        (f'<div {XHTML}><a href="javascript:alert(1)">An</a></div>', False),
        # disallowed elements
        (f'<div {XHTML}>An<iframe src="http://x"></iframe></div>', False),
        (f'<div {XHTML}><form><input name="x"/></form>An</div>', False),
        (f"<div {XHTML}><font>An</font></div>", False),
        (f"<div {XHTML}><object>An</object></div>", False),
        (f"<div {XHTML}><style>p {{}}</style>An</div>", False),
        # disallowed attributes
        (f'<div {XHTML}><span data-id="1">An</span></div>', False),
        (f'<div {XHTML}><p href="#x">An</p></div>', False),  # href only on <a>/<area>
        # structure: a div in the XHTML namespace, one root, blocks not inside <p>, content
        ("<div>An</div>", False),
        (f"<p {XHTML}>An</p>", False),
        (f"<div {XHTML}>A</div><div {XHTML}>B</div>", False),
        (f"<div {XHTML}><p><div>An</div></p></div>", False),
        (f'<div {XHTML}><a href="#a"><a href="#b">An</a></a></div>', False),
        (f"<div {XHTML}/>", False),
        (f"<div {XHTML}>   </div>", False),
        (f"<div {XHTML}><b>An</div>", False),  # not well-formed
    ],
)
def test_html_checks(div: str, expected: bool) -> None:
    resource = {**PATIENT, "text": {"status": "generated", "div": div}}
    assert evaluate(resource, "text.div.htmlChecks()") == [expected]


def test_html_checks_empty_and_many() -> None:
    assert evaluate({"resourceType": "Patient"}, "text.div.htmlChecks()") == []
    with pytest.raises(FhirPathEvaluationError):
        evaluate(PATIENT, "(text.div | 'x').htmlChecks()")


SNOMED = "http://snomed.info/sct"
DIABETES, TYPE_2 = "73211009", "44054006"  # type 2 diabetes is a kind of diabetes mellitus
CONDITION: dict[str, Any] = {
    "resourceType": "Condition",
    "subject": {"reference": "Patient/p1"},
    "code": {"coding": [{"system": SNOMED, "code": TYPE_2}, {"system": "urn:x", "code": "E11"}]},
    "category": [{"coding": [{"system": SNOMED, "code": DIABETES}]}],
    "severity": {"coding": [{"system": "http://loinc.org", "code": "LA6751-7"}]},
}


def snomed_hierarchy(
    system: str | None, code: str, other: str | None, other_code: str
) -> bool | None:
    if system != SNOMED or other != SNOMED:
        return None
    return (code, other_code) == (DIABETES, TYPE_2)


@pytest.mark.parametrize(
    ("expression", "with_service", "without_service"),
    [
        ("category.first().subsumes(code)", [True], []),  # unknown without a terminology
        ("code.subsumedBy(category.first())", [True], []),
        ("code.subsumes(category.first())", [False], []),
        ("category.first().subsumedBy(code)", [False], []),
        ("code.subsumes(code)", [True], [True]),  # equal codes subsume each other
        ("code.coding.first().subsumes(code.coding.first())", [True], [True]),
        ("category.first().coding.subsumes(code)", [True], []),  # a Coding and a concept
        ("code.subsumes({})", [], []),
        ("{}.subsumedBy(code)", [], []),
    ],
)
def test_subsumes_asks_the_terminology_service(
    expression: str, with_service: list[bool], without_service: list[bool]
) -> None:
    services = Services(subsumption=snomed_hierarchy)
    assert evaluate(CONDITION, expression, services=services) == with_service
    assert evaluate(CONDITION, expression) == without_service


@pytest.mark.parametrize(
    "expression",
    [
        "severity.subsumes(category.first())",  # LOINC against SNOMED: no known relation
        "code.subsumes(category | severity)",  # several items
        "subject.subsumes(code)",  # not a Coding or CodeableConcept
        "code.subsumes('73211009')",
    ],
)
def test_subsumes_errors(expression: str) -> None:
    with pytest.raises(FhirPathEvaluationError):
        evaluate(CONDITION, expression, services=Services(subsumption=snomed_hierarchy))


MODIFIED: dict[str, Any] = {
    "resourceType": "Patient",
    "modifierExtension": [{"url": "http://example.org/not-real", "valueBoolean": True}],
    "contact": [
        {"name": {"family": "Lê"}},
        {"name": {"family": "Vũ"}, "modifierExtension": [{"url": "http://example.org/m2"}]},
    ],
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("checkModifiers('http://example.org/not-real').exists()", [True]),
        ("checkModifiers('http://x.org/a,http://example.org/not-real').exists()", [True]),
        ("checkModifiers('http://x.org/a' | 'http://example.org/not-real').exists()", [True]),
        ("contact.first().checkModifiers().name.family", ["Lê"]),
        ("contact.checkModifiers('http://example.org/m2').count()", [2]),
        ("name.checkModifiers()", []),
    ],
)
def test_check_modifiers_passes_known_modifiers(expression: str, expected: list[Any]) -> None:
    assert evaluate(MODIFIED, expression) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "checkModifiers().exists()",
        "checkModifiers('http://example.org/other').exists()",
        "contact.checkModifiers().count()",
        "checkModifiers(1)",
    ],
)
def test_check_modifiers_rejects_unknown_modifiers(expression: str) -> None:
    with pytest.raises(FhirPathEvaluationError):
        evaluate(MODIFIED, expression)
