"""The generated FHIR R4 definitions: reproducible from ../shared, and the lookups they serve."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import REPO, shared_path
from yteso.fhir import definitions
from yteso.fhir.definitions import loader

DATA = REPO / "yteso" / "fhir" / "definitions" / "data"


def _generator() -> object:
    spec = importlib.util.spec_from_file_location(
        "generate_definitions", REPO / "scripts" / "generate_definitions.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_match_a_fresh_generation(tmp_path: Path) -> None:
    source = shared_path("fhir-r4")
    written = _generator().generate(source, tmp_path)  # type: ignore[attr-defined]
    assert {p.name for p in written} == {p.name for p in DATA.glob("*.json.gz")}
    for path in written:
        assert path.read_bytes() == (DATA / path.name).read_bytes(), f"{path.name} is stale"
    total = sum(p.stat().st_size for p in written)
    assert total < 5_000_000


@pytest.mark.parametrize(
    ("path", "minimum", "maximum", "type_codes"),
    [
        ("Patient.name", 0, "*", ("HumanName",)),
        ("Patient.id", 0, "1", ("id",)),
        ("Observation.status", 1, "1", ("code",)),
        ("Observation.component.code", 1, "1", ("CodeableConcept",)),
        ("Observation.value[x]", 0, "1", ("Quantity", "CodeableConcept", "string")),
        ("Patient.name.given", 0, "*", ("string",)),
        ("Bundle.entry.resource", 0, "1", ("Resource",)),
        ("Questionnaire.item.item.linkId", 1, "1", ("string",)),
    ],
)
def test_element_lookup(path: str, minimum: int, maximum: str, type_codes: tuple[str, ...]) -> None:
    found = definitions.element(path)
    assert found is not None
    assert (found.min, found.max) == (minimum, maximum)
    codes = tuple(t.code for t in found.types)
    assert set(type_codes) <= set(codes)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Questionnaire.item.item", "#Questionnaire.item"),
        ("Observation.component.referenceRange", "#Observation.referenceRange"),
        ("Patient.name", None),
    ],
)
def test_content_reference(path: str, expected: str | None) -> None:
    found = definitions.element(path)
    assert found is not None
    assert found.content_reference == expected


@pytest.mark.parametrize(
    ("path", "targets"),
    [
        ("Observation.subject", {"Patient", "Group", "Device", "Location"}),
        ("Patient.generalPractitioner", {"Organization", "Practitioner", "PractitionerRole"}),
    ],
)
def test_reference_targets(path: str, targets: set[str]) -> None:
    found = definitions.element(path)
    assert found is not None
    assert set(found.types[0].target_types) == targets


@pytest.mark.parametrize(
    ("name", "kind", "base", "abstract"),
    [
        ("Patient", "resource", "DomainResource", False),
        ("DomainResource", "resource", "Resource", True),
        ("Bundle", "resource", "Resource", False),
        ("HumanName", "complex-type", "Element", False),
        ("date", "primitive-type", "Element", False),
        ("code", "primitive-type", "string", False),
        ("SimpleQuantity", "complex-type", "Quantity", False),
    ],
)
def test_type_definition(name: str, kind: str, base: str, abstract: bool) -> None:
    found = definitions.type_definition(name)
    assert found is not None
    assert (found.kind, found.base, found.abstract) == (kind, base, abstract)


@pytest.mark.parametrize(
    ("type_name", "good", "bad", "system_type"),
    [
        ("date", "2024-02-29", "2024-13-01", "System.Date"),
        ("dateTime", "2024-01-01T10:00:00+07:00", "2024-01-01T10:00", "System.DateTime"),
        ("id", "abc-1.2", "abc_1", "System.String"),
        ("code", "a b", " a", "System.String"),
        ("decimal", "-1.50", "1.", "System.Decimal"),
        ("oid", "urn:oid:1.2.3", "urn:oid:1.02", "System.String"),
    ],
)
def test_primitive_regex(type_name: str, good: str, bad: str, system_type: str) -> None:
    pattern = definitions.primitive_regex(type_name)
    assert pattern is not None
    assert pattern.fullmatch(good)
    assert not pattern.fullmatch(bad)
    found = definitions.type_definition(type_name)
    assert found is not None and found.system_type == system_type


@pytest.mark.parametrize(
    ("url", "contains", "size"),
    [
        ("http://hl7.org/fhir/ValueSet/administrative-gender", "female", 4),
        ("http://hl7.org/fhir/ValueSet/observation-status|4.0.1", "final", 8),
        ("http://hl7.org/fhir/ValueSet/resource-types", "Patient", 148),
    ],
)
def test_value_set_codes(url: str, contains: str, size: int) -> None:
    codes = definitions.value_set_codes(url)
    assert codes is not None
    assert contains in codes
    assert len(codes) == size


def test_value_sets_not_enumerable_are_none() -> None:
    assert definitions.value_set_codes("http://hl7.org/fhir/ValueSet/mimetypes") is None
    assert definitions.value_set_codes("http://example.org/unknown") is None


@pytest.mark.parametrize(
    ("url", "code_system", "value_set"),
    [
        ("http://hl7.org/fhir/administrative-gender", True, False),
        ("http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1", False, True),
        ("http://terminology.hl7.org/CodeSystem/v2-0203", True, False),
        ("http://loinc.org", False, False),
    ],
)
def test_terminology_urls(url: str, code_system: bool, value_set: bool) -> None:
    assert definitions.is_code_system_url(url) == code_system
    assert definitions.is_value_set_url(url) == value_set


def test_resource_types() -> None:
    types = definitions.resource_types()
    assert {"Patient", "Observation", "Bundle", "Parameters"} <= types
    assert "DomainResource" not in types and "HumanName" not in types
    assert definitions.is_resource_type("Patient") and not definitions.is_resource_type("Foo")


@pytest.mark.parametrize(
    ("resource_type", "code", "expression", "param_type"),
    [
        ("Patient", "_id", "Resource.id", "token"),
        ("Patient", "_lastUpdated", "Resource.meta.lastUpdated", "date"),
        ("Patient", "_text", None, "string"),
        ("Patient", "birthdate", "Patient.birthDate", "date"),
        ("Encounter", "date", "Encounter.period", "date"),
        (
            "Condition",
            "onset-date",
            "Condition.onset.as(dateTime) | Condition.onset.as(Period)",
            "date",
        ),
        ("Observation", "code-value-quantity", "Observation", "composite"),
        ("Bundle", "_tag", "Resource.meta.tag", "token"),
    ],
)
def test_search_parameters(
    resource_type: str, code: str, expression: str | None, param_type: str
) -> None:
    params = definitions.search_parameters(resource_type)
    assert params[code].type == param_type
    assert params[code].expression == expression


def test_bundle_has_no_domain_resource_parameters() -> None:
    assert "_text" not in definitions.search_parameters("Bundle")
    composite = definitions.search_parameters("Observation")["code-value-quantity"]
    assert [c.expression for c in composite.components] == ["code", "value.as(Quantity)"]
    assert len(definitions.all_search_parameters()) == 1378


def test_patient_compartment() -> None:
    compartment = definitions.patient_compartment()
    assert compartment["Observation"] == ("subject", "performer")
    assert compartment["Patient"] == ("link",)
    assert compartment["Organization"] == ()


def test_invariants_are_kept() -> None:
    patient = definitions.type_definition("Patient")
    assert patient is not None
    assert "dom-3" in {c.key for c in patient.constraints}
    quantity = definitions.type_definition("Quantity")
    assert quantity is not None
    qty3 = next(c for c in quantity.constraints if c.key == "qty-3")
    assert qty3.expression == "code.empty() or system.exists()"


def test_every_definition_loads_from_a_cold_cache() -> None:
    # Load time is a benchmark figure (bench/bench_validation.py), not a timed test.
    for cached in (loader._load, loader._constraints, loader._search_parameters_by_base):
        cached.cache_clear()
    definitions.type_definition.cache_clear()
    definitions.search_parameters.cache_clear()
    for name in sorted(definitions.type_names()):
        assert definitions.type_definition(name) is not None, name
    for name in definitions.resource_types():
        assert "_id" in definitions.search_parameters(name), name
