"""Migration 0012: the per-resource index of every search table leads with ``id`` (cheaper
bulk builds). A store migrated from
0011 ends with exactly the indexes of a new store and answers every search as before; records
of indexes a dead load dropped under 0011 are rebuilt, then migrated. On SQLite a bulk load also
defers the resource tables' non-unique indexes; PostgreSQL keeps them live. Both backends.
Since 0015 (parameter keys) the old store's answers are compared with a new store's holding the
same data: today's searches read the keys an old store does not have before migrating."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_database
from tests.store.deferred_support import (
    deferred,
    definitions,
    open_at_version,
    write_before_param_keys,
)
from tests.store.search_fixtures import search_resources
from yteso.store import SearchParam, SearchQuery, SqlStore, open_store
from yteso.store.deferred_indexes import defer_bulk_indexes, rebuild_deferred_indexes

RESOURCE_INDEXES = [
    f"search_{table}_resource"
    for table in ("string", "token", "date", "number", "quantity", "reference", "uri", "text")
]
PROBED = ("search_string_resource", "search_token_resource")
RESOURCE_TABLE_INDEXES = [
    "resource_current_compartment",
    "resource_current_last_updated",
    "resource_current_type_seq",
    "resource_history_type_seq",
]
# Searches that read the re-keyed indexes: clearing rows aside (updates), probes, _include,
# _revinclude, _has, chains, :missing on a parameter sharing another's rows, sorts.
SEARCHES: list[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]]] = [
    ("Patient", (("_revinclude", "Observation:subject"),), ()),
    ("Patient", (("_revinclude", "Observation:*"), ("family", "Nguyễn")), ()),
    ("Observation", (("_include", "Observation:subject"),), ()),
    ("Observation", (("_include", "Observation:*"), ("code", "8867-4")), ()),
    ("Patient", (("_has:Observation:subject:code", "8867-4"),), ()),
    ("Observation", (("subject:Patient.family", "Nguyễn"),), ()),
    ("Observation", (("patient:missing", "true"),), ()),
    ("Observation", (("patient:missing", "false"),), ()),
    ("Patient", (("organization", "Organization/org-hue"),), ("-family",)),
    ("Observation", (("code", "http://loinc.org|8867-4"),), ("date",)),
    ("Patient", (("_id", "pat-nguyen,pat-dang"),), ("birthdate",)),
]


def _query(params: tuple[tuple[str, str], ...], sort: tuple[str, ...]) -> SearchQuery:
    parsed = []
    for raw, value in params:  # chains and _has keep the rest of their name as the modifier
        name, _, modifier = raw.partition(":")
        parsed.append(SearchParam(name, tuple(value.split(",")), modifier or None))
    return SearchQuery(params=tuple(parsed), sort=sort, count=100)


def answers(store: SqlStore) -> list[tuple[list[str], list[str]]]:
    found = []
    for resource_type, params, sort in SEARCHES:
        result = store.search(resource_type, _query(params, sort))
        found.append(
            (
                [f"{m.resource_type}/{m.id}" for m in result.matches],
                sorted(f"{m.resource_type}/{m.id}" for m in result.included),
            )
        )
    return found


@pytest.fixture
def fresh_url(store_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second fresh database of the same backend."""
    backend = "sqlite" if store_url.startswith("sqlite:") else "postgres"
    with fresh_database(backend, tmp_path, request, "fresh.db") as url:
        yield url


def same_data(fresh: SqlStore) -> list[tuple[list[str], list[str]]]:
    """The answers of a new store holding the data the old one was given."""
    fresh.bulk_write(search_resources())
    fresh.backend.refresh_statistics(force=True)
    return answers(fresh)


def shapes(store: SqlStore) -> dict[str, str]:
    """The deferrable indexes, their table names without the schema (PostgreSQL names it)."""
    return {n: re.sub(r" ON [^ .]+\.", " ON ", d) for n, d in definitions(store).items()}


def columns(definition: str) -> list[str]:
    """The key columns of a B-tree index definition (SQLite or PostgreSQL text)."""
    found = re.search(r" ON \S+ (?:USING btree )?\(([^)]*)\)", definition)
    assert found is not None, definition
    return [c.strip() for c in found.group(1).split(",")]


def test_every_resource_index_leads_with_the_id(store_url: str) -> None:
    store = open_store(store_url)
    try:
        found = definitions(store)
    finally:
        store.close()
    for name in RESOURCE_INDEXES:  # since 0015 the probed ones: (id, pkey, ...)
        second = "pkey" if name in PROBED else "resource_type"
        assert columns(found[name])[:2] == ["id", second], found[name]
    target = columns(found["search_reference_target"])  # :missing ranges over target_type
    assert target[:3] == ["target_type", "target_id", "pkey"]


def test_a_store_from_0011_migrates_to_the_new_indexes_and_answers_the_same(
    store_url: str, fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = open_at_version(store_url, monkeypatch, 11)
    try:
        write_before_param_keys(old, search_resources())
        old.backend.refresh_statistics(force=True)
        assert columns(definitions(old)["search_token_resource"])[0] == "resource_type"
    finally:
        old.close()
    migrated, fresh = open_store(store_url), open_store(fresh_url)
    try:
        assert shapes(migrated) == shapes(fresh)
        before = same_data(fresh)  # today's searches need 0015's keys: a new store's answers
        if migrated.dialect == "sqlite":  # its statistics are per index: the new ones have theirs
            with migrated.backend.reading() as db:
                analyzed = {str(n) for (n,) in db.rows("SELECT idx FROM sqlite_stat1")}
            assert set(RESOURCE_INDEXES) <= analyzed
        assert answers(migrated) == before
        assert any(included for _, included in before) and all(m for m, _ in before[:6])
        assert "Patient/pat-nguyen" in before[1][0]
        with migrated.session() as session:  # an update clears the old rows through the index
            session.update({"resourceType": "Patient", "id": "pat-nguyen", "gender": "female"})
        assert "Patient/pat-nguyen" not in answers(migrated)[1][0]  # its old name rows are gone
    finally:
        migrated.close()
        fresh.close()


def test_indexes_a_dead_load_dropped_before_0012_are_rebuilt_then_migrated(
    store_url: str, fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = open_at_version(store_url, monkeypatch, 11)
    try:
        write_before_param_keys(old, search_resources())
        assert defer_bulk_indexes(old.backend) > 0  # the load dies here: records stay
    finally:
        old.close()
    migrated, fresh = open_store(store_url), open_store(fresh_url)
    try:
        assert deferred(migrated) == []
        assert shapes(migrated) == shapes(fresh)
        assert answers(migrated) == same_data(fresh)
    finally:
        migrated.close()
        fresh.close()


def test_sqlite_defers_the_resource_tables_indexes_postgresql_keeps_them_live(
    store_url: str,
) -> None:
    store = open_store(store_url)
    try:
        store.bulk_write(search_resources())
        before = definitions(store)
        expected = [] if store.dialect == "postgresql" else RESOURCE_TABLE_INDEXES
        assert sorted(n for n in before if n.startswith("resource_")) == expected
        assert defer_bulk_indexes(store.backend) == len(before)
        assert [n for n in deferred(store) if n.startswith("resource_")] == expected
        assert rebuild_deferred_indexes(store.backend) == len(before)
        assert definitions(store) == before and deferred(store) == []
    finally:
        store.close()
