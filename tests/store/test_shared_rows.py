"""Parameters sharing another parameter's index rows (``yteso.store.shared_rows``): derived
from the definitions, no rows of their own, and exactly the search results of their own rows.

The reference is the store as it was before sharing (:func:`unshared`: every parameter stores
and reads its own rows), on SQLite and PostgreSQL; a store written that way is also searched
with sharing on (a database written before the change).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import module_store_url
from yteso.fhir.definitions import resource_types, search_parameters
from yteso.fhir.types import Json
from yteso.store import SearchParam, SearchQuery, SqlStore, open_store
from yteso.store.custom_params import definition_from_resource, register
from yteso.store.index_rows import extract_index_rows
from yteso.store.shared_rows import RowSource, row_source, shared_params, unshared
from yteso.synth import iter_resources

_IDENTIFIER = {"system": "urn:oid:2.16.840.1", "value": "B-77"}


def _extra() -> list[Json]:
    """References the plain synthetic data lacks: other target types, logical identifiers,
    absolute URLs, contained and urn references."""

    def observation(id: str, subject: Json) -> Json:
        return {
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
            "subject": subject,
        }

    return [
        observation("x-group", {"reference": "Group/grp-x"}),
        observation("x-identifier", {"identifier": _IDENTIFIER}),
        observation("x-both", {"reference": "Patient/pat-1", "identifier": _IDENTIFIER}),
        observation("x-url", {"reference": "http://other.example/fhir/Patient/far"}),
        observation("x-urn", {"reference": "urn:uuid:5b9f6f3c-4a8e-4a0b-9c3e-0d5a1b2c3d4e"}),
        observation("x-none", {"display": "no reference"}),
        {"resourceType": "Group", "id": "grp-x", "type": "person", "actual": True},
        {
            "resourceType": "Coverage",
            "id": "cov-1",
            "status": "active",
            "beneficiary": {"reference": "Patient/pat-1", "identifier": _IDENTIFIER},
            "payor": [{"reference": "Organization/org-1"}],
        },
        {
            "resourceType": "Person",
            "id": "person-1",
            "name": [{"family": "Trần", "given": ["Thị"]}],
            "link": [
                {"target": {"reference": "Patient/pat-1"}},
                {"target": {"reference": "Practitioner/prac-1"}},
            ],
        },
    ]


@pytest.fixture(scope="module")
def population() -> list[Json]:
    return list(iter_resources(25, 11)) + _extra()


# -- the rule, derived from the definitions ------------------------------------------------


def test_groups_are_derived_from_the_definitions() -> None:
    assert shared_params("Observation")["patient"] == RowSource("subject", "Patient")
    assert shared_params("Observation")["combo-code"] == RowSource(
        "code", None, ("component-code",)
    )
    assert shared_params("Patient") == {"phonetic": RowSource("name")}
    assert shared_params("Coverage") == {"patient": RowSource("beneficiary")}
    assert shared_params("Encounter")["practitioner"] == RowSource("participant", "Practitioner")
    combo = RowSource("value-quantity", None, ("component-value-quantity",))
    assert shared_params("Observation")["combo-value-quantity"] == combo
    assert "care-manager" not in shared_params("EpisodeOfCare")  # no unfiltered sibling
    for resource_type in resource_types():
        definitions = search_parameters(resource_type)
        for code, source in shared_params(resource_type).items():
            mine, theirs = definitions[code], definitions[source.param]
            assert source.param not in shared_params(resource_type)  # holders store rows
            assert mine.type == theirs.type and mine.type != "composite"
            expected = theirs.expression
            if source.target_type is not None:
                expected = f"{expected}.where(resolve() is {source.target_type})"
            if source.also:  # a union of the holders' expressions, in the definition's order
                parts = [definitions[p].expression for p in source.params]
                expected = " | ".join(parts)
            assert mine.expression == expected, (resource_type, code)


def test_row_names_follow_the_rule() -> None:
    assert row_source("Observation", "patient", "reference") == RowSource("subject", "Patient")
    # a filtered parameter keeps its own logical-identifier rows
    assert row_source("Observation", "patient:identifier", "token").param == "patient:identifier"
    assert row_source("Coverage", "patient:identifier", "token").param == "beneficiary:identifier"
    assert row_source("Patient", "phonetic", "string") == RowSource("name")
    assert row_source(None, "phonetic", "string") == RowSource("phonetic")
    assert row_source("Observation", "subject", "reference") == RowSource("subject")


def test_a_custom_parameter_never_shares_and_breaks_the_group_it_replaces() -> None:
    custom = {
        "resourceType": "SearchParameter",
        "id": "obs-subject",
        "status": "active",
        "code": "subject",
        "base": ["Observation"],
        "type": "reference",
        "expression": "Observation.performer",
    }
    twin = {**custom, "id": "pat-name2", "code": "name2", "base": ["Patient"]}
    twin["type"], twin["expression"] = "string", "Patient.name"
    definitions = [definition_from_resource(r) for r in (custom, twin)]
    register([d for d in definitions if d is not None])
    try:
        assert "patient" not in shared_params("Observation")  # subject is no longer Its path
        assert "name2" not in shared_params("Patient")  # custom: stores its own rows
        rows = extract_index_rows({**_extra()[2], "performer": [{"reference": "Practitioner/p"}]})
        params = {(table, param) for table, param, _ in rows}
        assert ("reference", "patient") in params and ("reference", "subject") in params
    finally:
        register([])
    assert shared_params("Observation")["patient"] == RowSource("subject", "Patient")


# -- rows: none of their own, the same as the holder's ---------------------------------------


def _by_param(rows: list[tuple[str, str, tuple[object, ...]]]) -> dict[tuple[str, str], list]:
    found: dict[tuple[str, str], list[tuple[object, ...]]] = {}
    for table, param, values in rows:
        found.setdefault((table, param), []).append(values)
    return found


@pytest.mark.parametrize("general", [False, True])
def test_shared_rows_equal_the_rows_they_replace(population: list[Json], general: bool) -> None:
    checked = 0
    for resource in population:
        resource_type = resource["resourceType"]
        shared = shared_params(resource_type)
        now = _by_param(extract_index_rows(resource, general=general))
        with unshared():
            before = _by_param(extract_index_rows(resource, general=general))
        # an unfiltered sharer's companions (``patient:identifier`` of Coverage) go too
        unfiltered = [c for c, s in shared.items() if not s.target_type]
        gone = set(shared) | {f"{c}{x}" for c in unfiltered for x in (":identifier", ":of-type")}
        assert {k: v for k, v in before.items() if k[1] not in gone} == now
        for code, source in shared.items():
            table = "reference" if source.target_type else _table(resource_type, code)
            own = before.get((table, code), [])
            holder = now.get((table, source.param), [])
            if source.target_type is not None:
                holder = [v for v in holder if v[0] == source.target_type]
            if source.also:  # a union: the same values (FHIRPath's | drops duplicates)
                parts = [v for p in source.params for v in now.get((table, p), [])]
                assert set(own) == set(parts), (resource_type, code)
            else:
                assert own == holder, (resource_type, code)
            assert (table, code) not in now
            checked += bool(own)
    assert checked > 100  # the population has rows for shared parameters


def _table(resource_type: str, code: str) -> str:
    return search_parameters(resource_type)[code].type


def test_fewer_rows_per_resource(population: list[Json]) -> None:
    now = sum(len(extract_index_rows(r)) for r in population)
    with unshared():
        before = sum(len(extract_index_rows(r)) for r in population)
    assert now < before


# -- searches: the same results as the parameters' own rows -------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stores(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    population: list[Json],
) -> Iterator[tuple[SqlStore, SqlStore]]:
    """(written and searched as before sharing, written with sharing)."""
    with module_store_url(request, tmp_path_factory, "old") as old_url:
        with module_store_url(request, tmp_path_factory, "new") as new_url:
            old, new = open_store(old_url), open_store(new_url)
            with unshared():
                old.bulk_write(population)
            new.bulk_write(population)
            yield old, new
            old.close()
            new.close()


def _param(text: str) -> SearchParam:
    name, _, value = text.partition("=")
    code, _, modifier = name.partition(":")
    return SearchParam(code, tuple(value.split(",")), modifier or None)


# (type, query, sort): every modifier, chains both ways, includes, sorts, compartments.
QUERIES = [
    ("Observation", "patient=Patient/pat-1", ()),
    ("Observation", "patient=pat-2", ()),
    ("Observation", "patient=pat-1,pat-3,grp-x", ()),
    ("Observation", "patient:Patient=pat-1", ()),
    ("Observation", "patient=http://other.example/fhir/Patient/far", ()),
    ("Observation", "patient=urn:uuid:5b9f6f3c-4a8e-4a0b-9c3e-0d5a1b2c3d4e", ()),
    ("Observation", "patient:missing=true", ()),
    ("Observation", "patient:missing=false", ()),
    ("Observation", "patient:identifier=urn:oid:2.16.840.1|B-77", ()),
    ("Observation", "patient.gender=female", ()),
    ("Observation", "patient:Patient.name=ng", ("-date",)),
    ("Observation", "patient.phonetic=tr", ()),
    ("Observation", "subject=Group/grp-x", ()),
    ("Observation", "_sort=patient", ("patient", "_id")),
    ("Observation", "_sort=-patient", ("-patient", "-_id")),
    ("Observation", "_sort=patient filtered", ("patient",)),
    ("Person", "_sort=practitioner", ("practitioner",)),  # also links a Patient: pat-1 < prac-1
    ("Person", "_sort=-patient", ("-patient",)),
    ("Appointment", "_sort=practitioner", ("practitioner", "_id")),
    ("Appointment", "_sort=-patient", ("-patient",)),
    ("Encounter", "_sort=-practitioner", ("-practitioner",)),
    ("Condition", "patient=pat-4", ()),
    ("Observation", "combo-code=8480-6", ()),
    ("Observation", "combo-code=http://loinc.org|8310-5,8462-4", ("combo-code", "_id")),
    ("Observation", "combo-code:not=8480-6", ()),
    ("Observation", "combo-code:text=body", ()),
    ("Observation", "combo-code:missing=false", ("-combo-code",)),
    ("Observation", "combo-value-quantity=gt100", ("combo-value-quantity",)),
    ("Observation", "combo-value-quantity=le38|http://unitsofmeasure.org|Cel", ()),
    ("Observation", "combo-value-quantity:missing=true", ()),
    ("Observation", "combo-value-concept:missing=false", ()),
    ("Observation", "combo-data-absent-reason:missing=true", ()),
    ("Observation", "_sort=combo-value-quantity", ("combo-value-quantity", "_id")),
    ("Observation", "_sort=-combo-code", ("-combo-code",)),
    ("Observation", "_sort=-combo-value-quantity", ("-combo-value-quantity",)),
    ("Patient", "_has:Observation:patient:combo-code=8480-6", ()),
    ("Encounter", "_has:Observation:encounter:combo-value-quantity=gt120", ()),
    ("Condition", "patient:missing=false", ("-patient",)),
    ("Encounter", "practitioner:missing=false", ("practitioner",)),
    ("Encounter", "patient.birthdate=lt1980", ()),
    ("Appointment", "patient:missing=false", ()),
    ("Appointment", "practitioner:missing=true", ()),
    ("Coverage", "patient=pat-1", ()),
    ("Coverage", "patient:identifier=B-77", ()),
    ("Person", "patient=pat-1", ()),
    ("Person", "practitioner=prac-1", ()),
    ("Person", "relatedperson:missing=true", ()),
    ("Person", "phonetic=tr", ()),
    ("Patient", "phonetic=ng", ("phonetic",)),
    ("Patient", "phonetic:exact=Nguyễn", ()),
    ("Patient", "phonetic:contains=an", ("-phonetic",)),
    ("Patient", "phonetic:missing=false", ()),
    ("Patient", "_has:Observation:patient:code=8310-5", ()),
    ("Patient", "_has:Condition:patient:_id=pat-4-cond1", ()),
    ("Group", "_has:Observation:patient:code=8310-5", ()),  # patient names no Group
    ("Group", "_has:Observation:subject:code=8310-5", ()),
    ("Practitioner", "_has:Encounter:practitioner:status=finished", ()),
    ("Patient", "_compartment=Patient/pat-1", ()),
    ("Observation", "_compartment=Patient/pat-1", ()),
    ("Encounter", "_compartment=Patient/pat-2", ()),
]
INCLUDES = [
    ("Observation", "code=8310-5", "_include", "Observation:patient"),
    ("Observation", "code=8310-5", "_include", "Observation:patient:Patient"),
    ("Encounter", "status=finished", "_include", "Encounter:practitioner"),
    ("Patient", "gender=female", "_revinclude", "Observation:patient"),
    ("Patient", "gender=male", "_revinclude", "Encounter:patient"),
    ("Encounter", "status=finished", "_revinclude:iterate", "Observation:patient"),
    ("Group", "actual=true", "_revinclude", "Observation:patient"),
]


def _pages(store: SqlStore, resource_type: str, query: SearchQuery) -> tuple[list[str], int | None]:
    ids: list[str] = []
    result = store.search(resource_type, query)
    for _ in range(200):
        ids += [f"{m.resource_type}/{m.id}" for m in result.matches]
        ids += [f"+{m.resource_type}/{m.id}" for m in result.included]
        if result.next_cursor is None:
            break
        more = SearchQuery(query.params, query.count, result.next_cursor, query.total, query.sort)
        result = store.search(resource_type, more)
    return ids, result.total


def _compare(stores: tuple[SqlStore, SqlStore], resource_type: str, query: SearchQuery) -> int:
    old, new = stores
    with unshared():
        before = _pages(old, resource_type, query)
    assert _pages(new, resource_type, query) == before, (resource_type, query)
    assert _pages(old, resource_type, query) == before, (resource_type, query)  # an older store
    return len(before[0])


@pytest.mark.postgres
def test_searches_match_the_unshared_rows(stores: tuple[SqlStore, SqlStore]) -> None:
    found = 0
    for resource_type, text, sort in QUERIES:
        params = () if text.startswith("_sort") else (_param(text),)
        if text.endswith("filtered"):
            params = (SearchParam("_lastUpdated", ("ge2000-01-01",)),)
        for count in (7, 200):
            query = SearchQuery(params, count=count, total="accurate", sort=sort)
            found += bool(_compare(stores, resource_type, query))
    assert found > len(QUERIES)  # most queries find something


@pytest.mark.postgres
def test_includes_match_the_unshared_rows(stores: tuple[SqlStore, SqlStore]) -> None:
    for resource_type, text, kind, value in INCLUDES:
        name, _, modifier = kind.partition(":")
        include = SearchParam(name, (value,), modifier or None)
        query = SearchQuery((_param(text), include), count=50)
        _compare(stores, resource_type, query)


@pytest.mark.postgres
def test_shared_rows_are_not_written(stores: tuple[SqlStore, SqlStore]) -> None:
    old, new = stores
    sql = "SELECT count(*) FROM search_{} WHERE resource_type = '{}' AND param = '{}'"
    for table, resource_type, code in [
        ("reference", "Observation", "patient"),
        ("reference", "Encounter", "practitioner"),
        ("string", "Patient", "phonetic"),
        ("token", "Coverage", "patient:identifier"),
    ]:
        with old.backend.reading() as db:
            assert db.rows(sql.format(table, resource_type, code), [])[0][0] > 0
        with new.backend.reading() as db:
            assert db.rows(sql.format(table, resource_type, code), [])[0][0] == 0
    with new.backend.reading() as db:  # a filtered parameter keeps its identifier rows
        assert db.rows(sql.format("token", "Observation", "patient:identifier"), [])[0][0] == 1


@pytest.mark.postgres
def test_referencing_reads_the_shared_rows(stores: tuple[SqlStore, SqlStore]) -> None:
    """The bulk lookup behind the MPI's candidate pairs (``SqlSession.referencing``)."""
    old, new = stores
    for target_type, ids in [("Patient", ["pat-1", "pat-2", "far"]), ("Group", ["grp-x"])]:
        with unshared(), old.session() as session:
            before = session.referencing("Observation", "patient", target_type, ids)
        with new.session() as session:
            assert session.referencing("Observation", "patient", target_type, ids) == before
    assert before == set()  # patient names no Group


def test_reindex_drops_the_rows_an_older_store_kept(store_url: str, population: list[Json]) -> None:
    """``yteso reindex`` rewrites every resource's rows: the shared parameters' own rows of a
    store written before sharing go, and searches find the same resources."""
    from yteso.store.reindex import reindex

    store = open_store(store_url)
    try:
        with unshared():
            store.bulk_write(population)
        queries = [
            ("Observation", SearchQuery((_param("patient=pat-1"),), count=200)),
            ("Patient", SearchQuery((_param("phonetic=ng"),), count=200)),
            ("Observation", SearchQuery((_param("combo-code=8480-6"),), count=200)),
        ]
        before = [_pages(store, t, q) for t, q in queries]
        sql = (
            "SELECT count(*) FROM search_reference"
            " WHERE resource_type = 'Observation' AND param = 'patient'"
        )
        with store.backend.reading() as db:
            assert db.rows(sql, [])[0][0] > 0
        assert reindex(store) == len(population)
        with store.backend.reading() as db:
            assert db.rows(sql, [])[0][0] == 0
        assert [_pages(store, t, q) for t, q in queries] == before
        assert all(found for found, _ in before)
    finally:
        store.close()
