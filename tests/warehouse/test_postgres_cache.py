"""PostgreSQL views fill and read ``resource_json``, the cache of the current versions' JSONB
(migration 0016): filled on a view's first run, right after a load, after updates and deletes,
inside the caller's transaction, read-only, with a write between the fill and the read, and
from a store migrated with JSONB already in ``resource_current.content``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from tests.conftest import drop_pg_schema, fresh_pg_url
from yteso.store import SqlStore, load_paths, open_store
from yteso.warehouse import postgres_views, read_view, run_view
from yteso.warehouse.postgres_views import fill_cache

VIEW = {
    "resource": "Patient",
    "select": [{"column": [{"name": "id", "path": "id"}, {"name": "gender", "path": "gender"}]}],
}
PEOPLE = [
    {"resourceType": "Patient", "id": f"p{n}", "gender": "female" if n % 2 else "male"}
    for n in range(6)
]
OTHER = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}}


def _rows(url: str) -> list[tuple[str, str]]:
    return sorted((row["id"], row["gender"]) for row in run_view(VIEW, url))


def _cached(url: str) -> list[tuple[str, Any]]:
    """(id, cached gender) of every entry, with the id of the version's history row."""
    with psycopg.connect(url) as db:
        found = db.execute(
            "SELECT h.id, j.content ->> 'gender' FROM resource_json j"
            " JOIN resource_history h ON h.seq = j.seq ORDER BY h.id"
        ).fetchall()
    return [(str(id), gender) for id, gender in found]


def _expected(people: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((p["id"], p["gender"]) for p in people)


def test_a_view_after_a_load_fills_the_cache(
    pg_store: tuple[SqlStore, str], tmp_path: Path
) -> None:
    store, url = pg_store
    lines = b"\n".join(orjson.dumps(r) for r in [*PEOPLE, OTHER])
    (tmp_path / "all.ndjson").write_bytes(lines + b"\n")
    assert load_paths(store, [tmp_path / "all.ndjson"]).loaded == 7
    assert _cached(url) == []  # the load writes no JSONB
    assert _rows(url) == _expected(PEOPLE)
    assert _cached(url) == [(p["id"], p["gender"]) for p in PEOPLE]  # Patients only
    assert _rows(url) == _expected(PEOPLE)  # the cached run


def test_an_update_is_seen_and_its_old_entry_dropped(pg_store: tuple[SqlStore, str]) -> None:
    store, url = pg_store
    store.bulk_write(PEOPLE)
    assert _rows(url) == _expected(PEOPLE)
    with store.session() as session:
        session.update({**PEOPLE[0], "gender": "other"})
    changed = [{**PEOPLE[0], "gender": "other"}, *PEOPLE[1:]]
    assert _rows(url) == _expected(changed)
    assert _cached(url) == [(p["id"], p["gender"]) for p in changed]  # one entry per Patient


def test_a_delete_leaves_the_view_and_the_cache(pg_store: tuple[SqlStore, str]) -> None:
    store, url = pg_store
    store.bulk_write(PEOPLE)
    assert _rows(url) == _expected(PEOPLE)
    with store.session() as session:
        session.delete("Patient", "p1")
    left = [p for p in PEOPLE if p["id"] != "p1"]
    assert _rows(url) == _expected(left)
    assert [id for id, _ in _cached(url)] == [p["id"] for p in left]


def test_a_write_between_the_fill_and_the_view_is_seen(
    pg_store: tuple[SqlStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new version has no entry yet: the view parses its body itself."""
    store, url = pg_store
    store.bulk_write(PEOPLE)

    def fill_then_write(connection: psycopg.Connection[Any], resource_type: str) -> int | None:
        filled = fill_cache(connection, resource_type)
        with store.session() as session:
            session.update({**PEOPLE[2], "gender": "unknown"})
        return filled

    monkeypatch.setattr(postgres_views, "fill_cache", fill_then_write)
    changed = [*PEOPLE[:2], {**PEOPLE[2], "gender": "unknown"}, *PEOPLE[3:]]
    assert _rows(url) == _expected(changed)
    assert ("p2", "unknown") not in _cached(url)  # not cached by that run


def test_a_view_inside_the_callers_transaction(pg_store: tuple[SqlStore, str]) -> None:
    """The fill is a savepoint of the caller's transaction: its entries commit or roll back
    with it, and the caller's own uncommitted writes are seen."""
    store, url = pg_store
    store.bulk_write(PEOPLE[:3])
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO resource_history (resource_type, id, version, last_updated, method,"
            " body) VALUES ('Patient', 'tx', 1, now(), 'POST', %s)",
            (orjson.dumps({"resourceType": "Patient", "id": "tx", "gender": "other"}).decode(),),
        )
        connection.execute(
            "INSERT INTO resource_current (resource_type, id, version, seq, last_updated)"
            " SELECT resource_type, id, version, seq, last_updated FROM resource_history"
            " WHERE id = 'tx'"
        )
        rows = postgres_views.run_postgres(read_view(VIEW), connection)
        assert sorted((r["id"], r["gender"]) for r in rows) == sorted(
            [*_expected(PEOPLE[:3]), ("tx", "other")]
        )
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert _cached(url) == []  # not committed yet
        connection.rollback()
    assert _cached(url) == []
    assert _rows(url) == _expected(PEOPLE[:3])
    assert len(_cached(url)) == 3


def test_a_read_only_view_runs_without_the_fill(pg_store: tuple[SqlStore, str]) -> None:
    store, url = pg_store
    store.bulk_write(PEOPLE)
    read_only = url + "%20-cdefault_transaction_read_only%3Don"
    assert sorted((r["id"], r["gender"]) for r in run_view(VIEW, read_only)) == _expected(PEOPLE)
    assert _cached(url) == []
    with psycopg.connect(url) as connection:
        connection.execute("SET TRANSACTION READ ONLY")
        assert fill_cache(connection, "Patient") is None
        rows = run_view(VIEW, connection)  # the caller's transaction is still usable
    assert sorted((r["id"], r["gender"]) for r in rows) == _expected(PEOPLE)


def test_the_cached_path_does_not_read_the_history(pg_store: tuple[SqlStore, str]) -> None:
    """The plan scans no resource_history, and the fallback function (counted by the
    transaction's function statistics) is called only for a row without an entry."""
    from yteso.warehouse.postgres_paths import compile_postgres_view

    store, url = pg_store
    store.bulk_write(PEOPLE)
    relation = postgres_views.CURRENT_RESOURCES.format(kind="'Patient'")
    sql = compile_postgres_view(read_view(VIEW), relation).sql
    calls = "SELECT pg_stat_get_xact_function_calls('resource_body_jsonb'::regproc)"
    with psycopg.connect(url) as db:
        assert fill_cache(db, "Patient") == len(PEOPLE)
        db.execute("SET track_functions = 'all'")
        plan = [str(line) for (line,) in db.execute("EXPLAIN " + sql).fetchall()]
        assert not any("resource_history" in line for line in plan), plan
        assert len(db.execute(sql).fetchall()) == len(PEOPLE)
        assert db.execute(calls).fetchone() == (None,)  # never called
        db.execute("DELETE FROM resource_json WHERE seq = (SELECT min(seq) FROM resource_json)")
        assert len(db.execute(sql).fetchall()) == len(PEOPLE)
        assert db.execute(calls).fetchone() == (1,)  # the one row not cached


def test_migration_0016_moves_the_jsonb(pg_base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store at 0015 whose current rows hold JSONB (as every write stored it) keeps those
    values, now in resource_json, and loses the column."""
    from yteso.store import migrations
    from yteso.store.sql_files import load_migrations

    def upto_15(package: str) -> list[Any]:
        return [m for m in load_migrations(package) if m.version <= 15]

    url, schema = fresh_pg_url(pg_base_url)
    monkeypatch.setattr(migrations, "load_migrations", upto_15)
    store = open_store(url)
    try:
        store.bulk_write([*PEOPLE, OTHER])
        with store.session() as session:
            session.update({**PEOPLE[0], "gender": "other"})
            session.delete("Patient", "p1")
        with store.backend.writing() as db:  # what the writes stored before 0016
            db.run(
                "UPDATE resource_current c SET content = CAST(h.body AS jsonb)"
                " FROM resource_history h WHERE h.seq = c.seq AND NOT c.deleted"
            )
        monkeypatch.setattr(migrations, "load_migrations", load_migrations)
        assert migrations.apply_migrations(store.backend, "yteso.store.postgres") == [16]
        with psycopg.connect(url) as check:
            moved = check.execute(
                "SELECT c.id, j.content = CAST(h.body AS jsonb) FROM resource_json j"
                " JOIN resource_current c ON c.seq = j.seq"
                " JOIN resource_history h ON h.seq = j.seq ORDER BY c.id"
            ).fetchall()
            columns = check.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = 'resource_current'"
            ).fetchall()
        ids = sorted(["o1", *(p["id"] for p in PEOPLE if p["id"] != "p1")])
        assert moved == [(id, True) for id in ids]
        assert ("content",) not in columns
        changed = [{**PEOPLE[0], "gender": "other"}, *PEOPLE[2:]]
        assert _rows(url) == _expected(changed)
    finally:
        store.close()
        drop_pg_schema(pg_base_url, schema)


def test_a_large_fill_on_its_own_connection_is_analyzed(
    pg_store: tuple[SqlStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner then knows the cache's size (never analyzed, it guessed from the pages)."""
    store, url = pg_store
    store.bulk_write(PEOPLE)
    monkeypatch.setattr(postgres_views, "ANALYZE_AFTER", len(PEOPLE))
    assert _rows(url) == _expected(PEOPLE)
    with psycopg.connect(url) as db:
        found = db.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'resource_json'::regclass"
        ).fetchone()
    assert found == (len(PEOPLE),)


def test_a_run_touches_only_its_own_types_entries(pg_store: tuple[SqlStore, str]) -> None:
    """Check, fill and prune follow the view's type: a Patient run neither caches nor prunes
    Observations (its cost follows the Patients, not the store)."""
    store, url = pg_store
    store.bulk_write([*PEOPLE, OTHER])
    observations = {**VIEW, "resource": "Observation"}
    observations["select"] = [{"column": [{"name": "id", "path": "id"}]}]
    assert [row["id"] for row in run_view(observations, url)] == ["o1"]
    with store.session() as session:
        session.update({**OTHER, "status": "amended"})

    def entries() -> list[tuple[str, str]]:
        with psycopg.connect(url) as db:
            found = db.execute(
                "SELECT j.resource_type, h.id FROM resource_json j"
                " JOIN resource_history h ON h.seq = j.seq ORDER BY 1, 2"
            ).fetchall()
        return [(str(kind), str(id)) for kind, id in found]

    assert _rows(url) == _expected(PEOPLE)  # Patients cached, the stale Observation kept
    assert entries() == [("Observation", "o1")] + [("Patient", p["id"]) for p in PEOPLE]
    stale = entries()
    assert [row["id"] for row in run_view(observations, url)] == ["o1"]
    with psycopg.connect(url) as db:
        statuses = db.execute(
            "SELECT content ->> 'status' FROM resource_json WHERE resource_type = 'Observation'"
        ).fetchall()
    assert statuses == [("amended",)]  # the superseded entry pruned, the new one cached
    assert entries() == stale
