"""The SQLite writer's cheaper statements store exactly what the one-row statements stored:
multi-row inserts (``sqlite_inserts``), from rows or from the bulk loader's value groups
(``index_blocks`` format ``groups``), bodies bound as bytes and cast to TEXT, None, bool and
bytes bound through registered adapters, 8 KiB pages for new files. The stored-body test runs
on both databases; the others test SQLite's own modules on real SQLite files."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest

from yteso.store import SqlStore, load_paths, open_store
from yteso.store.base import SearchQuery
from yteso.store.index_blocks import value_groups
from yteso.store.index_values import IndexRow, IndexValue
from yteso.store.param_keys import param_key
from yteso.store.sqlite_backend import PAGE_SIZE, SqliteExecutor
from yteso.store.sqlite_inserts import (
    MAX_BOUND_VALUES,
    ROWS_PER_STATEMENT,
    insert_keyed_groups,
    insert_rows,
    keyed_statement,
    multi_row_statement,
)


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "INSERT INTO t (a, b) VALUES (?, ?)",
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)",
        ),
        (
            "INSERT INTO t (a, b) VALUES (?, CAST(? AS TEXT))",
            "INSERT INTO t (a, b) VALUES (?, CAST(? AS TEXT)), (?, CAST(? AS TEXT)),"
            " (?, CAST(? AS TEXT))",
        ),
        (
            "-- a comment (with VALUES (x) in it)\nINSERT INTO t (a) values (?)\n"
            "ON CONFLICT (a) DO UPDATE SET a = excluded.a",
            "INSERT INTO t (a) values (?), (?), (?)\nON CONFLICT (a) DO UPDATE SET a = excluded.a",
        ),
    ],
)
def test_multi_row_statement_repeats_the_one_values_row(sql: str, expected: str) -> None:
    assert multi_row_statement(sql, 3) == expected


def test_multi_row_statement_needs_a_values_row() -> None:
    with pytest.raises(ValueError, match="no VALUES row"):
        multi_row_statement("INSERT INTO t SELECT * FROM u", 2)


@pytest.mark.parametrize(
    "count",
    [0, 1, ROWS_PER_STATEMENT - 1, ROWS_PER_STATEMENT, ROWS_PER_STATEMENT + 1, 3 * 128 + 5],
)
def test_insert_rows_stores_the_rows_and_rowids_of_one_row_statements(count: int) -> None:
    rows = [(f"id{i}", i if i % 3 else None, f"é{i}" * (i % 4), float(i) / 3) for i in range(count)]
    sql = "INSERT INTO t (a, b, c, d) VALUES (?, ?, ?, ?)"
    tables = []
    for write in ("one row", "grouped"):
        connection = sqlite3.connect(":memory:", isolation_level=None)
        connection.execute("CREATE TABLE t (a TEXT NOT NULL, b INTEGER, c TEXT, d REAL)")
        if write == "one row":
            connection.executemany(sql, rows)
        else:
            insert_rows(SqliteExecutor(connection), sql, rows)
        tables.append(connection.execute("SELECT rowid, * FROM t ORDER BY rowid").fetchall())
    assert tables[0] == tables[1]
    assert len(tables[1]) == count


@pytest.mark.parametrize(
    ("count", "extra"),
    [
        (0, 2),
        (1, 2),
        (ROWS_PER_STATEMENT, 2),
        (3 * 128 + 5, 2),
        (300, 37),
        (40, MAX_BOUND_VALUES // 2),
    ],
)
def test_value_groups_store_the_rows_of_one_row_statements(count: int, extra: int) -> None:
    """The workers' keyed value groups, inserted by ``insert_keyed_groups``, store the rows
    that one-row statements of ``(resource_type, id, param, pkey, *values)`` store, the rows
    of each (type, parameter) in the entries' order; wide rows and mixed types included."""
    entries: list[tuple[str, str, list[IndexRow]]] = []
    for i in range(count):
        values: tuple[IndexValue, ...] = (f"é{i}" * (i % 4), None if i % 3 else float(i) / 3)
        values += tuple(range(extra - 2))
        type_ = "Patient" if i % 5 else "Group"
        entries.append((type_, f"p{i // 3}", [("t", f"param{i % 2}", values)]))
    columns = [f"c{i}" for i in range(4 + extra)]  # type, id, param, its key, values
    sql = f"INSERT INTO t ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    tables = []
    for write in ("one row", "groups"):
        connection = sqlite3.connect(":memory:", isolation_level=None)
        connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, MAX_BOUND_VALUES)
        connection.execute(f"CREATE TABLE t ({', '.join(columns)})")
        if write == "one row":
            rows = [
                (type_, id, param, param_key(type_, param), *v)
                for type_, id, found in entries
                for _, param, v in found
            ]
            connection.executemany(sql, rows)
        else:
            groups = value_groups(entries).get("t", [])
            insert_keyed_groups(SqliteExecutor(connection), sql, len(columns), groups)
        # per (type, parameter) in rowid order: the entries' order within each key
        tables.append(connection.execute("SELECT * FROM t ORDER BY c0, c2, rowid").fetchall())
    assert tables[0] == tables[1]
    assert len(tables[1]) == count


def test_keyed_statement_binds_the_shared_values_once() -> None:
    sql = "INSERT INTO t (a, b, c, d, e) VALUES (?, ?, ?, ?, ?)"
    assert keyed_statement(sql, 5, 2) == (
        "INSERT INTO t (a, b, c, d, e) VALUES (?1, ?4, ?2, ?3, ?5), (?1, ?6, ?2, ?3, ?7)"
    )


def test_keyed_groups_end_in_statements_of_powers_of_two_rows() -> None:
    """A group's rows past its full statements go 64, 32, ... 1 at a time: a few cached
    statements rather than one per row count."""
    runs: list[tuple[str, int]] = []

    class Recorder:
        def run(self, sql: str, params: Sequence[object] = ()) -> None:
            runs.append((sql, len(params)))

        def run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
            runs.extend((sql, len(row)) for row in rows)

    entries = [("Patient", f"p{i}", [("t", "name", ("x",))]) for i in range(128 + 100)]
    groups = value_groups(entries)["t"]
    insert_keyed_groups(
        Recorder(), "INSERT INTO t (a, b, c, d, e) VALUES (?, ?, ?, ?, ?)", 5, groups
    )
    assert [(count - 3) // 2 for _, count in runs] == [128, 64, 32, 4]


def test_none_bool_and_bytes_bind_as_the_driver_binds_them_unadapted() -> None:
    """The adapters ``sqlite_backend`` registers change no stored value: NULL, integers, blobs
    (and text for bytes cast to TEXT)."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("CREATE TABLE t (a, b, c, d)")
    connection.execute(
        "INSERT INTO t VALUES (?, ?, ?, CAST(? AS TEXT))", (None, True, b"\x00\xff", b"{}")
    )
    connection.execute("INSERT INTO t VALUES (?, ?, ?, ?)", (False, None, bytearray(b"x"), 1.5))
    assert connection.execute(
        "SELECT typeof(a), a, typeof(b), b, typeof(c), c, typeof(d), d FROM t ORDER BY rowid"
    ).fetchall() == [
        ("null", None, "integer", 1, "blob", b"\x00\xff", "text", "{}"),
        ("integer", 0, "null", None, "blob", b"x", "real", 1.5),
    ]


@pytest.mark.parametrize("width", [9, 40, MAX_BOUND_VALUES // 2 + 1])
def test_wide_rows_stay_under_the_bound_values_limit(width: int) -> None:
    """Groups shrink so a statement binds at most MAX_BOUND_VALUES values (old SQLite: 999)."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, MAX_BOUND_VALUES)
    columns = [f"c{i}" for i in range(width)]
    connection.execute(f"CREATE TABLE t ({', '.join(columns)})")
    sql = f"INSERT INTO t ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    rows = [tuple(r * width + c for c in range(width)) for r in range(300)]
    insert_rows(SqliteExecutor(connection), sql, rows)
    assert connection.execute("SELECT * FROM t ORDER BY rowid").fetchall() == rows


def test_insert_rows_upserts_as_one_row_statements_do() -> None:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID")
    connection.executemany("INSERT INTO t VALUES (?, ?)", [(f"k{i}", 0) for i in range(0, 300, 2)])
    upsert = "INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
    insert_rows(SqliteExecutor(connection), upsert, [(f"k{i}", i) for i in range(300)])
    assert connection.execute("SELECT k, v FROM t ORDER BY k").fetchall() == sorted(
        (f"k{i}", i) for i in range(300)
    )


def test_bodies_are_stored_as_the_exact_json_text(store: SqlStore, tmp_path: Path) -> None:
    """Bulk-loaded and singly created versions keep their body as text, byte for byte what a
    read serves (SQLite binds the bytes and casts them: typeof must still be 'text')."""
    names = ["Nguyễn Thị Hương", 'Đặng \\ "quoted" \t tab', "emoji 🩺 and \u2028"]
    lines = [
        orjson.dumps({"resourceType": "Patient", "id": f"p{i}", "name": [{"text": name}]})
        for i, name in enumerate(names)
    ]
    (tmp_path / "p.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    assert load_paths(store, [tmp_path / "p.ndjson"], workers=1).loaded == len(names)
    with store.session() as session:
        session.create({"resourceType": "Patient", "name": [{"text": "Lê Văn Đức"}]})
    with store.backend.reading() as db:
        stored = db.rows("SELECT resource_type, id, body FROM resource_history ORDER BY seq")
        if store.dialect == "sqlite":
            assert {row[0] for row in db.rows("SELECT typeof(body) FROM resource_history")} == {
                "text"
            }
    assert len(stored) == len(names) + 1
    for resource_type, id, body in stored:
        assert isinstance(body, str)
        served = store.read(resource_type, id)
        assert orjson.loads(body) == served.resource()
        assert body.encode() == served.body


def test_new_files_get_8_kib_pages_and_old_files_keep_theirs(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as connection:  # a file made before (SQLite's 4 KiB default)
        connection.execute("PRAGMA page_size=4096")
        connection.execute("CREATE TABLE before (x)")
    for path, size in ((tmp_path / "new.db", PAGE_SIZE), (old, 4096)):
        store = open_store(f"sqlite:///{path}")
        try:
            store.bulk_write([{"resourceType": "Patient", "id": "p"}])
            with store.backend.reading() as db:
                assert db.rows("PRAGMA page_size") == [(size,)]
                assert db.rows("PRAGMA journal_mode") == [("wal",)]
                assert db.rows("PRAGMA integrity_check") == [("ok",)]
            assert store.read("Patient", "p").version == 1
        finally:
            store.close()


def test_writers_of_one_process_queue_and_start_when_the_last_commits(tmp_path: Path) -> None:
    """A second session waits on the backend's writer lock (not SQLite's busy handler, which
    sleeps up to 100 ms between tries) and starts once the first has committed: both write."""
    store = open_store(f"sqlite:///{tmp_path / 'queue.db'}")
    inside, started = threading.Event(), []

    def second() -> None:
        inside.wait(10)
        with store.session() as session:
            started.append(time.monotonic())
            session.create({"resourceType": "Patient", "gender": "male"})

    try:
        thread = threading.Thread(target=second)
        thread.start()
        with store.session() as session:
            session.create({"resourceType": "Patient", "gender": "female"})
            inside.set()
            time.sleep(0.3)  # the second writer is waiting meanwhile
        committed = time.monotonic()
        thread.join(10)
        assert started and started[0] >= committed
        assert len(store.search("Patient", SearchQuery()).matches) == 2
    finally:
        store.close()
