"""COPY binary (``copy_binary``) stores what parameter binding of the same values stores: the
resource tables' bulk writes go through it on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest

from tests.conftest import drop_pg_schema, fresh_pg_url
from yteso.store.copy_binary import copy_binary, current_stream, history_stream
from yteso.store.sql_backend import VersionRow

KINDS = "qttizbTj"
COLUMNS = "(q BIGINT, t TEXT, t2 TEXT, i INTEGER, z TIMESTAMPTZ, b BOOLEAN, body TEXT, doc JSONB)"
ROWS: list[tuple[object, ...]] = [
    (
        1,
        "Patient",
        "p1",
        1,
        datetime(2026, 11, 26, 19, 12, 1, 944000, tzinfo=UTC),
        False,
        b'{"resourceType":"Patient","name":[{"family":"Tr\xe1\xba\xa7n"}]}',
        b'{"resourceType":"Patient","name":[{"family":"Tr\xe1\xba\xa7n"}]}',
    ),
    (
        2**62,
        "Tab\there \\N",
        "line\nbreak\r\\",
        -(2**31),
        datetime(1, 1, 1, tzinfo=UTC),
        True,
        b'{"text":"a \\"quoted\\" word, \\u00e9, a back\\\\slash\\ttab"}',
        b'{"text":"a \\"quoted\\" word, \\u00e9, a back\\\\slash\\ttab", "b": 1.50, "a": [1e3]}',
    ),
    (
        -1,
        "",
        None,
        2**31 - 1,
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=7))),
        False,
        b"",
        None,
    ),
    (0, "x", "y", 0, datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC), False, None, None),
    (
        7,
        "\\N",
        "",
        7,
        datetime(2000, 1, 1, tzinfo=UTC),
        True,
        b"raw\ttab, raw\nline, raw\rreturn, \\N",
        b"[]",
    ),
]


@pytest.fixture
def db(pg_base_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    url, schema = fresh_pg_url(pg_base_url)
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            yield connection
    finally:
        drop_pg_schema(pg_base_url, schema)


def test_copy_binary_stores_what_bound_parameters_store(
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    db.execute(f"CREATE TABLE copied {COLUMNS}")
    db.execute(f"CREATE TABLE bound {COLUMNS}")
    with db.cursor() as cursor, cursor.copy("COPY copied FROM STDIN (FORMAT binary)") as copy:
        copy.write(copy_binary(ROWS, KINDS))
    for row in ROWS:
        values = [v.decode() if isinstance(v, bytes) else v for v in row]
        db.execute(
            "INSERT INTO bound VALUES (%s, %s, %s, %s, %s, %s, %s, CAST(%s AS jsonb))", values
        )
    query = "SELECT q, t, t2, i, z::text, b, body, doc::text FROM {} ORDER BY q"
    copied = db.execute(query.format("copied")).fetchall()
    assert copied == db.execute(query.format("bound")).fetchall()
    assert len(copied) == len(ROWS)


def test_copy_binary_of_no_rows_is_header_and_trailer() -> None:
    assert copy_binary([], "t") == b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\xff\xff"


@pytest.mark.parametrize(
    ("kinds", "row"),
    [
        ("i", ("1",)),
        ("t", (b"bytes",)),
        ("z", (datetime(2026, 1, 1),)),  # noqa: DTZ001 - naive on purpose
        ("q", (True,)),
        ("tt", ("a",)),
    ],
)
def test_copy_binary_refuses_a_value_of_the_wrong_kind(kinds: str, row: tuple[object, ...]) -> None:
    with pytest.raises((TypeError, ValueError)):
        copy_binary([row], kinds)


HISTORY_COLUMNS = (
    "(seq BIGINT, version INTEGER, last_updated TIMESTAMPTZ, deleted BOOLEAN,"
    " resource_type TEXT, id TEXT, method TEXT, compartment TEXT, body TEXT)"
)
CURRENT_COLUMNS = (
    "(version INTEGER, seq BIGINT, last_updated TIMESTAMPTZ, deleted BOOLEAN,"
    " resource_type TEXT, id TEXT, compartment TEXT)"
)
MOMENT = datetime(2026, 11, 26, 19, 12, 1, 944000, tzinfo=UTC)
VERSIONS = [
    VersionRow("Patient", "p1", 1, MOMENT, False, "PUT", "p1", b'{"family":"Tr\xe1\xba\xa7n"}'),
    VersionRow("Observation", "o\t1\\N", 3, MOMENT, False, "POST", None, b'{"a":"\\\\ \\t"}'),
    VersionRow(
        "Patient",
        "Tr\u1ea7n",
        2**31 - 1,
        datetime(1, 1, 1, tzinfo=UTC),
        True,
        "DELETE",
        "p\n2",
        b"",
    ),
    VersionRow("Observation", "o2", 1, MOMENT, False, "POST", "p1", b"{}"),
]
SEQS = [1, 2**62, 3, 4]


def test_the_resource_streams_store_what_copy_binary_stores(
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    """history_stream and current_stream are copy_binary of the same values, without the
    per-value dispatch: the rows stored must not differ (the current rows carry no body)."""
    history = [
        (
            seq,
            r.version,
            r.last_updated,
            r.deleted,
            r.resource_type,
            r.id,
            r.method,
            r.compartment,
            r.body,
        )
        for seq, r in zip(SEQS, VERSIONS, strict=True)
    ]
    current = [
        (
            r.version,
            seq,
            r.last_updated,
            r.deleted,
            r.resource_type,
            r.id,
            r.compartment,
        )
        for seq, r in zip(SEQS, VERSIONS, strict=True)
    ]
    streams = [
        (
            "history",
            HISTORY_COLUMNS,
            history_stream(VERSIONS, SEQS),
            copy_binary(history, "qizbttttT"),
        ),
        (
            "current",
            CURRENT_COLUMNS,
            current_stream(list(zip(VERSIONS, SEQS, strict=True))),
            copy_binary(current, "iqzbttt"),
        ),
    ]
    for name, columns, stream, reference in streams:
        for table, data in ((f"{name}_stream", stream), (f"{name}_kinds", reference)):
            db.execute(f"CREATE TABLE {table} {columns}")
            with (
                db.cursor() as cursor,
                cursor.copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy,
            ):
                copy.write(data)
        query = "SELECT *, last_updated::text FROM {} ORDER BY seq"
        stored = db.execute(query.format(f"{name}_stream")).fetchall()
        assert stored == db.execute(query.format(f"{name}_kinds")).fetchall()
        assert len(stored) == len(VERSIONS)
    deleted = db.execute("SELECT deleted FROM current_stream ORDER BY seq").fetchall()
    assert [flag for (flag,) in deleted] == [False, True, False, False]  # seq 3: the delete
