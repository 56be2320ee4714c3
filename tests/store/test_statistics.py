"""Planner statistics: a bulk-loaded, reopened or growing store is planned on its own data.

Without statistics SQLite walks every resource of the type for a selective identifier search
(100 ms of CPU at 200,000 Patients, docs/benchmarks.md "Master patient index")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from yteso.store import SearchParam, SearchQuery, SqlStore, load_paths, open_store, sql_store
from yteso.store.search_sql import plan_search

SYSTEM = "http://fhir.hl7.org.vn/core/sid/cccd"
PEOPLE = 400


def _patient(i: int) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "id": f"p{i}",
        "identifier": [{"system": SYSTEM, "value": f"0011960{i:05d}"}],
        "gender": "female",
    }


def _load(store: SqlStore, folder: Path, count: int, defer: bool | None = None) -> None:
    path = folder / "patients.ndjson"
    path.write_bytes(b"".join(orjson.dumps(_patient(i)) + b"\n" for i in range(count)))
    assert load_paths(store, [path], workers=1, defer_indexes=defer).loaded == count


def _analyzed_rows(store: SqlStore) -> int | None:
    """Rows of resource_current as the planner's statistics know them (None: no statistics)."""
    with store.backend.reading() as db:
        if store.dialect == "sqlite":
            if not db.rows("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"):
                return None
            found = db.rows("SELECT stat FROM sqlite_stat1 WHERE tbl = 'resource_current'")
            return int(str(found[0][0]).split()[0]) if found else None
        (tuples,) = db.rows(
            "SELECT reltuples FROM pg_class WHERE oid = 'resource_current'::regclass"
        )[0]
        return None if tuples < 0 else int(tuples)  # -1: never analyzed


def _identifier_plan(store: SqlStore, number: str) -> str:
    query = SearchQuery(params=(SearchParam("identifier", (f"{SYSTEM}|{number}",)),))
    plan = plan_search(store.backend.dialect, "Patient", query, datetime.now(UTC))
    with store.backend.reading() as db:
        rows = db.rows("EXPLAIN QUERY PLAN " + plan.page.sql, plan.page.params)
    return "\n".join(str(row[-1]) for row in rows)


def test_a_bulk_load_leaves_statistics_of_what_it_loaded(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    try:
        assert _analyzed_rows(store) is None
        _load(store, tmp_path, PEOPLE)
        assert _analyzed_rows(store) == PEOPLE
        found = store.search(
            "Patient", SearchQuery(params=(SearchParam("identifier", (f"{SYSTEM}|001196000123",)),))
        )
        assert [m.id for m in found.matches] == ["p123"]
    finally:
        store.close()


def test_sqlite_selective_search_reads_the_match_not_every_resource(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    store = open_store(url)
    try:
        _load(store, tmp_path, PEOPLE)
        plan = _identifier_plan(store, "001196000123")
        assert "resource_current_type_seq" not in plan, plan
        assert "PRIMARY KEY (resource_type=? AND id=?)" in plan, plan
        with store.backend.reading() as db:  # as a file written by a build that never analyzed
            db.run("DROP TABLE sqlite_stat1")
        assert _analyzed_rows(store) is None
    finally:
        store.close()
    reopened = open_store(url)
    try:
        assert _analyzed_rows(reopened) == PEOPLE
        assert "resource_current_type_seq" not in _identifier_plan(reopened, "001196000123")
    finally:
        reopened.close()


def test_sqlite_statistics_follow_the_data_as_it_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_store, "STATS_CHECK_EVERY", 50)
    store = open_store(f"sqlite:///{tmp_path / 'grow.db'}")
    try:
        _load(store, tmp_path, 10)
        assert _analyzed_rows(store) == 10
        for i in range(10, 1200):  # checked every 50 writes; stale at 2x and 1,000 more rows
            with store.session() as session:
                session.update(_patient(i))
            if i == 900:
                assert _analyzed_rows(store) == 10  # grown, but by fewer than 1,000 rows
        analyzed = _analyzed_rows(store)
        # Refreshed once, past 1,010 rows. Under analysis_limit the row count is estimated from
        # the B-tree's shape, so it depends on the page size: 955 (4 KiB pages) and 638 (8 KiB,
        # new files since SQLWRITER) for a table of 1,010 rows; far from the 10 before.
        assert analyzed is not None and 500 < analyzed <= 1300
    finally:
        store.close()


@pytest.mark.parametrize("defer", [False, True], ids=["live-indexes", "deferred-indexes"])
def test_a_load_analyzes_every_table_but_the_history(
    store_url: str, tmp_path: Path, defer: bool
) -> None:
    """PostgreSQL analyzes one table per statement on several connections: none is left out
    (SQLite's one ANALYZE covers the file), whether the load kept its indexes live or built
    them at the end; nor the warehouse's cache, which a load does not change."""
    store = open_store(store_url)
    try:
        _load(store, tmp_path, 50, defer)
        with store.backend.reading() as db:
            if store.dialect == "sqlite":
                tables = {str(name) for (name,) in db.rows("SELECT tbl FROM sqlite_stat1")}
                assert {"resource_current", "resource_history", "search_token"} <= tables
                return
            rows = db.rows(
                "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables"
                " WHERE schemaname = current_schema()"
            )
        analyzed = {str(name): bool(done) for name, done in rows}
        assert analyzed.pop("resource_history") is False
        assert analyzed.pop("resource_json") is False
        assert len(analyzed) >= 15 and all(analyzed.values())
    finally:
        store.close()
