"""Migration 0013: on PostgreSQL the value indexes of the search tables carry the id as an
INCLUDE column (stored, never compared: cheaper bulk builds), SQLite keeps it the last key. A
store migrated from 0012 ends with exactly the indexes of a new store and answers every search
as before; after a bulk load the rebuilt indexes are the same, and searches still read the id
from the index alone. Both backends."""

from __future__ import annotations

import re

import pytest

from tests.store.deferred_support import (
    deferred,
    definitions,
    open_at_version,
    write_before_param_keys,
)
from tests.store.search_fixtures import search_resources
from tests.store.test_index_keys import answers, fresh_url, same_data, shapes  # noqa: F401
from yteso.store import SqlStore, open_store
from yteso.store.deferred_indexes import defer_bulk_indexes, rebuild_deferred_indexes
from yteso.store.param_keys import param_key

# index -> its key columns before the id
# (since 0015 led by the parameter key; search_reference_target carries resource_type too)
VALUE_INDEXES = {
    "search_string_lookup": ["pkey", "norm"],
    "search_token_lookup": ["pkey", "code", "system"],
    "search_date_lookup": ["pkey", "low", "high"],
    "search_date_high": ["pkey", "high", "low"],
    "search_date_window": ["pkey", "width_class", "low", "high"],
    "search_number_lookup": ["pkey", "value"],
    "search_quantity_lookup": ["pkey", "value"],
    "search_reference_lookup": ["pkey", "target_id"],
    "search_reference_target": ["target_type", "target_id", "pkey"],
    "search_uri_lookup": ["pkey", "value"],
}
INCLUDED = {"search_reference_target": ["resource_type", "id"]}


def key_and_included(definition: str) -> tuple[list[str], list[str]]:
    """The key columns and the INCLUDE columns of a B-tree index definition."""
    found = re.search(r" ON \S+ (?:USING btree )?\(([^)]*)\)(?: INCLUDE \(([^)]*)\))?", definition)
    assert found is not None, definition
    keys, included = found.group(1), found.group(2) or ""
    return [c.strip() for c in keys.split(",")], [c.strip() for c in included.split(",") if c]


def expected(store: SqlStore, name: str) -> tuple[list[str], list[str]]:
    keys, included = VALUE_INDEXES[name], INCLUDED.get(name, ["id"])
    return (keys, included) if store.dialect == "postgresql" else ([*keys, *included], [])


def test_value_indexes_carry_the_id_without_comparing_it(store_url: str) -> None:
    store = open_store(store_url)
    try:
        store.bulk_write(search_resources())
        found = definitions(store)
        for name in VALUE_INDEXES:
            assert key_and_included(found[name]) == expected(store, name), found[name]
        assert defer_bulk_indexes(store.backend) == len(found)  # a bulk load's build: the same
        assert rebuild_deferred_indexes(store.backend) == len(found)
        assert definitions(store) == found and deferred(store) == []
    finally:
        store.close()


TOKEN_PROBE = (
    f"SELECT s.id FROM search_token s WHERE s.pkey = {param_key('Observation', 'code')}"
    " AND s.code = '8867-4'"
)


def test_a_token_search_reads_the_id_from_the_index_alone(store_url: str) -> None:
    """PostgreSQL reads the INCLUDE'd id (an index-only scan), SQLite its last key column (a
    covering index): neither visits the table."""
    store = open_store(store_url)
    try:
        store.bulk_write(search_resources())
        with store.backend.writing() as db:
            if store.dialect == "postgresql":
                db.run("ANALYZE search_token")
                db.run("SET LOCAL enable_seqscan = off")
                db.run("SET LOCAL enable_bitmapscan = off")
                rows = db.rows("EXPLAIN " + TOKEN_PROBE)
                wanted = "Index Only Scan using search_token_lookup"
            else:
                rows = [(row[-1],) for row in db.rows("EXPLAIN QUERY PLAN " + TOKEN_PROBE)]
                wanted = "USING COVERING INDEX search_token_lookup"
            plan = "\n".join(str(row[0]) for row in rows)
        assert wanted in plan, plan
    finally:
        store.close()


def test_a_store_from_0012_migrates_to_the_new_indexes_and_answers_the_same(
    store_url: str,
    fresh_url: str,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = open_at_version(store_url, monkeypatch, 12)
    try:
        write_before_param_keys(old, search_resources())
        old.backend.refresh_statistics(force=True)
        token = key_and_included(definitions(old)["search_token_lookup"])
        assert token == (["resource_type", "param", "code", "system", "id"], [])
        assert defer_bulk_indexes(old.backend) > 0  # a load dies here: its records stay
    finally:
        old.close()
    migrated, fresh = open_store(store_url), open_store(fresh_url)
    try:
        assert deferred(migrated) == []  # rebuilt as 0012 had them, then migrated
        assert shapes(migrated) == shapes(fresh)
        before = same_data(fresh)
        assert answers(migrated) == before
        assert any(included for _, included in before) and all(m for m, _ in before[:6])
    finally:
        migrated.close()
        fresh.close()
