"""Composite search parameters match their components on the same element, on both backends.

https://hl7.org/fhir/R4/search.html#composite: ``component-code-value-quantity=X$Y`` needs one
``Observation.component`` with code X *and* value Y, not X on one component and Y on another.
Every R4 composite shape is covered: Observation (resource-level, component and combo),
``useContext`` of the conformance resources, Group characteristics, MolecularSequence (a
component reading ``%resource``) and DocumentReference (the R4 errata of its components).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import module_store_url
from yteso.fhir.errors import Invalid
from yteso.store import SearchParam, SearchQuery, SqlStore, open_store
from yteso.store.search_composites import split_components

LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
SYS, DIA = f"{LOINC}|8480-6", f"{LOINC}|8462-4"


def _coded(code: str, system: str = LOINC) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _bp(id: str, systolic: float, diastolic: float) -> dict[str, Any]:
    def part(code: str, value: float) -> dict[str, Any]:
        quantity = {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}
        return {"code": _coded(code), "valueQuantity": quantity}

    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": _coded("85354-9"),
        "component": [part("8480-6", systolic), part("8462-4", diastolic)],
    }


def _context(id: str, kind: str, **value: Any) -> dict[str, Any]:
    context = {"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type"}}
    context["code"]["code"] = kind
    return {
        "resourceType": "ValueSet",
        "id": id,
        "status": "active",
        "useContext": [context | value],
    }


def resources() -> list[dict[str, Any]]:
    weight = {"value": 70, "unit": "kg", "system": UCUM, "code": "kg"}
    return [
        _bp("bp-high", 150, 95),
        _bp("bp-normal", 118, 78),
        _bp("bp-crossed", 95, 150),  # a high value, but on the diastolic component
        {
            "resourceType": "Observation",
            "id": "weight",
            "status": "final",
            "code": _coded("29463-7"),
            "valueQuantity": weight,
            "component": [{"code": _coded("8480-6"), "valueString": "n/a"}],
        },
        {
            "resourceType": "Observation",
            "id": "smoker",
            "status": "final",
            "code": _coded("72166-2"),
            "valueCodeableConcept": _coded("449868002", "http://snomed.info/sct"),
            "effectiveDateTime": "2024-03-01",
        },
        {
            "resourceType": "Observation",
            "id": "dated",
            "status": "final",
            "code": _coded("11778-8"),
            "valueDateTime": "2024-06-15",
        },
        {
            "resourceType": "Observation",
            "id": "priced",
            "status": "final",
            "code": _coded("note"),
            "valueString": "cost $5 total",
        },
        _context("vs-age", "age", valueQuantity={"value": 5, "system": UCUM, "code": "a"}),
        _context("vs-venue", "venue", valueCodeableConcept=_coded("clinic", "urn:venue")),
        {
            "resourceType": "ValueSet",
            "id": "vs-mixed",
            "status": "active",
            "useContext": [
                {
                    "code": {"system": "urn:ctx", "code": "age"},
                    "valueCodeableConcept": _coded("clinic", "urn:venue"),
                },
                {
                    "code": {"system": "urn:ctx", "code": "venue"},
                    "valueQuantity": {"value": 5, "system": UCUM, "code": "a"},
                },
            ],
        },
        {
            "resourceType": "Group",
            "id": "group-a",
            "type": "person",
            "actual": True,
            "characteristic": [
                {
                    "code": _coded("sex", "urn:c"),
                    "valueCodeableConcept": _coded("f", "urn:v"),
                    "exclude": False,
                },
                {
                    "code": _coded("smoker", "urn:c"),
                    "valueCodeableConcept": _coded("m", "urn:v"),
                    "exclude": False,
                },
            ],
        },
        {
            "resourceType": "MolecularSequence",
            "id": "seq-1",
            "coordinateSystem": 0,
            "referenceSeq": {
                "chromosome": _coded("1", "urn:chr"),
                "genomeBuild": "GRCh38",
                "windowStart": 10,
                "windowEnd": 20,
            },
            "variant": [{"start": 100, "end": 110}, {"start": 300, "end": 310}],
        },
        {
            "resourceType": "DocumentReference",
            "id": "doc-new",
            "status": "current",
            "content": [{"attachment": {"contentType": "text/plain"}}],
            "relatesTo": [
                {"code": "replaces", "target": {"reference": "DocumentReference/doc-old"}},
                {"code": "appends", "target": {"reference": "DocumentReference/doc-other"}},
            ],
        },
    ]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlStore]:
    with module_store_url(request, tmp_path_factory, "composite") as url:
        opened = open_store(url)
        opened.bulk_write(resources()[:5])  # the bulk path ...
        with opened.session() as session:  # ... and single writes index alike
            for resource in resources()[5:]:
                session.update(resource)
        yield opened
        opened.close()


def found(store: SqlStore, resource_type: str, name: str, value: str) -> set[str]:
    query = SearchQuery(params=(SearchParam(name, tuple(value.split(","))),))
    return {m.id for m in store.search(resource_type, query).matches}


O = "Observation"  # noqa: E741
CASES: list[tuple[str, str, str, set[str]]] = [
    # the same component: bp-crossed has 8480-6 and a value of 150, on different components
    (O, "component-code-value-quantity", f"{SYS}$gt140", {"bp-high"}),
    (O, "component-code-value-quantity", f"{DIA}$gt140", {"bp-crossed"}),
    (O, "component-code-value-quantity", f"{SYS}$lt100", {"bp-crossed"}),
    (O, "component-code-value-quantity", f"8480-6$ge118|{UCUM}|mm[Hg]", {"bp-high", "bp-normal"}),
    (O, "component-code-value-quantity", f"{SYS}$gt140,{DIA}$lt80", {"bp-high", "bp-normal"}),
    (O, "component-code-value-quantity", f"{SYS}$1000", set()),
    # a component without a quantity (weight's valueString) never pairs
    (O, "component-code-value-quantity", "8480-6$gt0", {"bp-high", "bp-normal", "bp-crossed"}),
    # resource-level: the Observation's own code and value
    (O, "code-value-quantity", f"{LOINC}|29463-7$70|{UCUM}|kg", {"weight"}),
    (O, "code-value-quantity", f"{LOINC}|85354-9$gt0", set()),  # values are on components
    (O, "code-value-concept", "72166-2$http://snomed.info/sct|449868002", {"smoker"}),
    (O, "code-value-concept", "72166-2$449868003", set()),
    (O, "code-value-date", "11778-8$2024-06", {"dated"}),
    (O, "code-value-date", "11778-8$gt2024-07", set()),
    (O, "code-value-string", "note$cost \\$5", {"priced"}),  # an escaped $ in a component
    (O, "code-value-string", "note$total", set()),
    # combo: the Observation itself or any component
    (O, "combo-code-value-quantity", "29463-7$70", {"weight"}),
    (O, "combo-code-value-quantity", "8462-4$gt90", {"bp-high", "bp-crossed"}),
    (O, "combo-code-value-quantity", "85354-9$gt90", set()),
    # useContext of a conformance resource: code and value of one usage context
    ("ValueSet", "context-type-quantity", "age$5", {"vs-age"}),
    ("ValueSet", "context-type-quantity", "venue$5", {"vs-mixed"}),
    ("ValueSet", "context-type-value", "venue$urn:venue|clinic", {"vs-venue"}),
    ("ValueSet", "context-type-value", "age$clinic", {"vs-mixed"}),
    ("ValueSet", "context-type-value", "age$other", set()),
    # Group characteristic
    ("Group", "characteristic-value", "sex$f", {"group-a"}),
    ("Group", "characteristic-value", "sex$m", set()),
    # MolecularSequence: a component reading %resource, numbers per variant
    ("MolecularSequence", "chromosome-variant-coordinate", "1$ge100$le110", {"seq-1"}),
    ("MolecularSequence", "chromosome-variant-coordinate", "1$ge300$le310", {"seq-1"}),
    ("MolecularSequence", "chromosome-variant-coordinate", "1$ge300$le110", set()),  # 2 variants
    ("MolecularSequence", "chromosome-window-coordinate", "urn:chr|1$10$20", {"seq-1"}),
    # DocumentReference: relation code and target of one relatesTo
    ("DocumentReference", "relationship", "replaces$DocumentReference/doc-old", {"doc-new"}),
    ("DocumentReference", "relationship", "replaces$DocumentReference/doc-other", set()),
]


@pytest.mark.parametrize(("resource_type", "name", "value", "expected"), CASES)
def test_composite(
    store: SqlStore, resource_type: str, name: str, value: str, expected: set[str]
) -> None:
    assert found(store, resource_type, name, value) == expected


def test_update_and_delete_replace_composite_rows(store: SqlStore) -> None:
    name = "component-code-value-quantity"
    with store.session() as session:
        session.update(_bp("bp-moving", 200, 70))
    assert found(store, O, name, f"{SYS}$gt190") == {"bp-moving"}
    with store.session() as session:
        session.update(_bp("bp-moving", 70, 200))
    assert found(store, O, name, f"{SYS}$gt190") == set()
    assert found(store, O, name, f"{DIA}$gt190") == {"bp-moving"}
    with store.session() as session:
        session.delete(O, "bp-moving")
    assert found(store, O, name, f"{DIA}$gt190") == set()


@pytest.mark.parametrize(
    ("value", "message"),
    [("8480-6", "needs 2 parts"), ("8480-6$1$2", "needs 2 parts"), ("8480-6$abc", "number")],
)
def test_malformed_composite_is_invalid(store: SqlStore, value: str, message: str) -> None:
    with pytest.raises(Invalid, match=message) as raised:
        found(store, O, "component-code-value-quantity", value)
    assert "component-code-value-quantity" in str(raised.value.outcome())


@pytest.mark.parametrize(
    ("value", "pieces"),
    [("a$b", ["a", "b"]), ("a\\$b$c", ["a$b", "c"]), ("a\\|b$c", ["a\\|b", "c"]), ("a", ["a"])],
)
def test_split_components(value: str, pieces: list[str]) -> None:
    assert split_components(value) == pieces


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("component-code-value-quantity", "false", {"bp-high", "bp-normal", "bp-crossed"}),
        ("component-code-value-quantity", "true", {"weight", "smoker", "dated", "priced"}),
        ("combo-code-value-quantity", "false", {"bp-high", "bp-normal", "bp-crossed", "weight"}),
        ("code-value-string", "false", {"priced"}),
    ],
)
def test_missing_composite(store: SqlStore, name: str, value: str, expected: set[str]) -> None:
    query = SearchQuery(params=(SearchParam(name, (value,), "missing"),), count=100)
    assert {m.id for m in store.search(O, query).matches} == expected


def test_other_modifiers_on_a_composite_are_invalid(store: SqlStore) -> None:
    query = SearchQuery(params=(SearchParam("code-value-quantity", ("a$1",), "exact"),))
    with pytest.raises(Invalid, match="exact"):
        store.search(O, query)


def test_every_r4_composite_is_indexed_or_searched_as_a_union() -> None:
    from yteso.fhir.definitions import resource_types, search_parameters
    from yteso.store.composite_rows import composite_params

    expected = {
        (t, code)
        for t in resource_types()
        for code, p in search_parameters(t).items()
        if p.type == "composite"
    }
    compiled = {(t, c.code) for t in resource_types() for c in composite_params(t)}
    assert compiled == expected and len(expected) == 72
    unions = {(t, c.code): c.union_of for t in resource_types() for c in composite_params(t)}
    assert {k: v for k, v in unions.items() if v} == {
        (O, "combo-code-value-concept"): ("code-value-concept", "component-code-value-concept"),
        (O, "combo-code-value-quantity"): ("code-value-quantity", "component-code-value-quantity"),
    }
