"""Differential test: the same generated searches on SQLite and PostgreSQL give the same
resources in the same order, page by page, with the same totals.

The data is a small synthetic population; the queries are drawn (seeded) from its own values:
name prefixes, codes and code lists, dates with every prefix, quantities, chains, _has,
several sort keys and small page sizes, so paging cursors are exercised too.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from tests.conftest import _pg_base_url, drop_pg_schema, fresh_pg_url
from yteso.fhir.types import Json
from yteso.store import SearchParam, SearchQuery, SqlStore, open_store
from yteso.store.text_folding import fold_text
from yteso.synth import iter_resources

QUERIES = 250
PREFIXES = ("", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


@pytest.fixture(scope="module")
def population() -> list[Json]:
    return list(iter_resources(40, 7))


@pytest.fixture(scope="module")
def stores(
    population: list[Json], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SqlStore, SqlStore]]:
    base = _pg_base_url()
    url, schema = fresh_pg_url(base)
    sqlite = open_store(f"sqlite:///{tmp_path_factory.mktemp('diff') / 'yteso.db'}")
    postgres = open_store(url)
    for store in (sqlite, postgres):
        store.bulk_write(population)
        with store.backend.reading() as db:
            db.run("ANALYZE")  # planner statistics, as after any real load
    yield sqlite, postgres
    sqlite.close()
    postgres.close()
    drop_pg_schema(base, schema)


def _values(population: list[Json], resource_type: str) -> list[Json]:
    return [r for r in population if r["resourceType"] == resource_type]


def _query(
    rng: random.Random, population: list[Json]
) -> tuple[str, tuple[SearchParam, ...], tuple[str, ...]]:
    patients = _values(population, "Patient")
    observations = _values(population, "Observation")
    patient, observation = rng.choice(patients), rng.choice(observations)
    family = fold_text(patient["name"][0].get("family", "x"))
    codes = sorted({o["code"]["coding"][0]["code"] for o in observations})
    year = rng.randint(1940, 2026)
    date = rng.choice([str(year), f"{year}-{rng.randint(1, 12):02d}", f"{year}-06-15"])
    quantity = observation.get("valueQuantity", {}).get("value", 37)
    kind = rng.randrange(9)
    prefix = rng.choice(PREFIXES)
    if kind == 0:
        return (
            "Patient",
            (SearchParam("name", (family[: rng.randint(1, 4)],)),),
            ("family", "-birthdate"),
        )
    if kind == 1:
        gender = SearchParam("gender", (rng.choice(["male", "female"]),))
        return "Patient", (gender, SearchParam("birthdate", (prefix + date,))), ("-birthdate",)
    if kind == 2:
        chosen = tuple(rng.sample(codes, min(len(codes), rng.randint(1, 5))))
        return "Observation", (SearchParam("code", chosen),), ("-date", "code")
    if kind == 3:
        return "Observation", (SearchParam("date", (prefix + date,)),), ("date",)
    if kind == 4:
        value = SearchParam("value-quantity", (f"{prefix}{quantity}",))
        return "Observation", (value,), ("-value-quantity",)
    if kind == 5:
        chain = SearchParam("subject", (family[:2],), "Patient.name")
        return "Observation", (chain,), ("subject", "_id")
    if kind == 6:
        has = SearchParam("_has", (rng.choice(codes),), "Observation:patient:code")
        return "Patient", (has,), ("given",)
    if kind == 7:
        status = SearchParam("status", ("final",), rng.choice([None, "not"]))
        return "Observation", (status, SearchParam("patient", (f"Patient/{patient['id']}",))), ()
    encounter = SearchParam("date", (prefix + date,))
    return "Encounter", (encounter,), ("-date", "-_lastUpdated")


def _all_pages(
    store: SqlStore, resource_type: str | None, query: SearchQuery
) -> tuple[list[str], int | None]:
    ids: list[str] = []
    result = store.search(resource_type, query)
    total = result.total
    for _ in range(500):
        ids += [m.id for m in result.matches]
        if result.next_cursor is None:
            break
        result = store.search(
            resource_type,
            SearchQuery(
                params=query.params, sort=query.sort, count=query.count, cursor=result.next_cursor
            ),
        )
    return ids, total


@pytest.mark.postgres
def test_sqlite_and_postgres_agree(
    stores: tuple[SqlStore, SqlStore], population: list[Json]
) -> None:
    rng = random.Random(20261126)
    sqlite, postgres = stores
    non_empty = 0
    for _ in range(QUERIES):
        resource_type, params, sort = _query(rng, population)
        query = SearchQuery(
            params=params, sort=sort, count=rng.choice([10, 50, 200]), total="accurate"
        )
        left = _all_pages(sqlite, resource_type, query)
        right = _all_pages(postgres, resource_type, query)
        assert left == right, (resource_type, params, sort)
        assert left[1] == len(left[0])
        non_empty += bool(left[0])
    assert non_empty > QUERIES // 3  # the queries are not trivially empty


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("resource_type", "sort"),
    [
        ("Observation", ("-date",)),
        ("Observation", ("date", "-_id")),
        ("Observation", ("-value-quantity",)),
        ("Observation", ("value-quantity", "code")),
        ("Patient", ("family", "-birthdate")),
        ("Encounter", ("-date",)),
    ],
)
def test_sorts_read_from_the_index_agree_and_cover_every_resource(
    stores: tuple[SqlStore, SqlStore], resource_type: str, sort: tuple[str, ...]
) -> None:
    """Unfiltered sorts by an indexed parameter are read in the index's order (resources
    lacking the value as their own group): every resource exactly once, same order on both."""
    sqlite, postgres = stores
    query = SearchQuery(sort=sort, count=37, total="accurate")
    left = _all_pages(sqlite, resource_type, query)
    assert left == _all_pages(postgres, resource_type, query)
    assert len(left[0]) == len(set(left[0])) == left[1] == sqlite.counts()[resource_type]
    # A filter every resource passes takes the other path (matches sorted by a correlated
    # sub-select per row): the same order.
    everything = SearchParam("_lastUpdated", ("ge2000-01-01",))
    filtered = SearchQuery(params=(everything,), sort=sort, count=37, total="accurate")
    assert _all_pages(sqlite, resource_type, filtered) == left


def _gap_query(
    rng: random.Random, population: list[Json]
) -> tuple[str | None, tuple[SearchParam, ...], tuple[str, ...]]:
    """Composites (per component element) and ``_type`` with several types."""
    observations = _values(population, "Observation")
    observation = rng.choice(observations)
    prefix = rng.choice(("", "gt", "lt", "ge", "le", "ne"))
    code = observation["code"]["coding"][0]["code"]
    kind = rng.randrange(4)
    if kind == 0:
        parts = [c for o in observations for c in o.get("component", ())]
        part = rng.choice(parts)
        value = part["valueQuantity"]["value"] + rng.choice((-5, 0, 5))
        pair = f"{rng.choice(('8480-6', '8462-4'))}${prefix}{value}"
        return "Observation", (SearchParam("component-code-value-quantity", (pair,)),), ("_id",)
    if kind == 1:
        value = observation.get("valueQuantity", {}).get("value", 120)
        pair = f"{rng.choice((code, '8480-6'))}${prefix}{value}"
        name = rng.choice(("code-value-quantity", "combo-code-value-quantity"))
        return "Observation", (SearchParam(name, (pair,)),), ("-date",)
    patient = rng.choice(_values(population, "Patient"))
    if kind == 2:
        types = SearchParam("_type", ("Observation", "Encounter", "Condition"))
        subject = SearchParam("subject", (f"Patient/{patient['id']}",))
        return None, (types, subject), ()
    family = fold_text(patient["name"][0].get("family", "x"))[:2]
    types = SearchParam("_type", ("Patient", "Practitioner"))
    return None, (types, SearchParam("name", (family,))), ()


@pytest.mark.postgres
def test_composites_and_several_types_agree(
    stores: tuple[SqlStore, SqlStore], population: list[Json]
) -> None:
    rng = random.Random(4)
    sqlite, postgres = stores
    non_empty = 0
    for _ in range(80):
        resource_type, params, sort = _gap_query(rng, population)
        query = SearchQuery(params=params, sort=sort, count=rng.choice([7, 50]), total="accurate")
        left = _all_pages(sqlite, resource_type, query)
        assert left == _all_pages(postgres, resource_type, query), (resource_type, params)
        assert left[1] == len(left[0]) == len(set(left[0]))
        non_empty += bool(left[0])
    assert non_empty > 20
