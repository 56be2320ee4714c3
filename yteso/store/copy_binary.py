"""PostgreSQL COPY binary format, for the resource tables' bulk writes.

https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.10 : a signature, then per
row a 16-bit field count and per field a 32-bit length (-1: NULL) and the value in its type's
binary form (the types' ``*_recv`` functions). The text format makes the server scan every
byte of each value twice (the line split, then the de-escaping of each field), and the
history and current rows each carry a ~1.4 KB body: sent as length-prefixed values instead,
those COPYs took about a fifth less server CPU (docs/benchmarks.md, "pgs2"). The bulk writes
use :func:`history_stream` and :func:`current_stream`, made for their two statements;
:func:`copy_binary` encodes any columns by kind (the reference the tests hold them to).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from struct import Struct

from yteso.store.sql_backend import VersionRow

# Signature, flags (no OIDs), header extension length 0.
_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_TRAILER = b"\xff\xff"  # a field count of -1
_NULL = b"\xff\xff\xff\xff"
_TRUE = b"\x00\x00\x00\x01\x01"
_FALSE = b"\x00\x00\x00\x01\x00"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # timestamptz: microseconds since this instant
_JSONB_VERSION = b"\x01"  # jsonb_recv: a version byte, then the JSON text
_COUNT = Struct(">h")
_LENGTH = Struct(">i")
_INT4 = Struct(">ii")  # the length (4) and the value
_INT8 = Struct(">iq")
# The fixed-width leading columns of one row of the copy_history statement (queries.sql): the
# field count, then length and value of seq, version, last_updated, deleted; of copy_current:
# the count, version, seq, last_updated, deleted.
_HISTORY_FIXED = Struct(">hiqiiiqib")
_CURRENT_FIXED = Struct(">hiiiqiqib")

# Column kinds: ``i`` integer, ``q`` bigint, ``b`` boolean, ``t`` text (a ``str``),
# ``T`` text given as UTF-8 ``bytes``, ``j`` jsonb given as UTF-8 ``bytes`` of its JSON text,
# ``z`` timestamptz (an aware ``datetime``). ``None`` is NULL in every kind.
ColumnKinds = str


def copy_binary(rows: Sequence[Sequence[object]], kinds: ColumnKinds) -> bytes:
    """The whole COPY binary stream (header to trailer) of ``rows``, column ``n`` of each row
    of kind ``kinds[n]``."""
    count = _COUNT.pack(len(kinds))
    instants: dict[datetime, bytes] = {}  # a batch shares a few timestamps
    parts = [_HEADER]
    for row in rows:
        parts.append(count)
        for kind, value in zip(kinds, row, strict=True):
            _append_field(parts, kind, value, instants)
    parts.append(_TRAILER)
    return b"".join(parts)


def _append_field(
    parts: list[bytes], kind: str, value: object, instants: dict[datetime, bytes]
) -> None:
    """A text value's length and bytes go as two parts: concatenated, each ~1.4 KB body would
    be copied once more."""
    if value is None:
        parts.append(_NULL)
    elif kind == "T" and isinstance(value, bytes):
        parts.append(_LENGTH.pack(len(value)))
        parts.append(value)
    elif kind == "t" and isinstance(value, str):
        data = value.encode()
        parts.append(_LENGTH.pack(len(data)))
        parts.append(data)
    elif kind == "i" and type(value) is int:
        parts.append(_INT4.pack(4, value))
    elif kind == "q" and type(value) is int:
        parts.append(_INT8.pack(8, value))
    elif kind == "b" and type(value) is bool:
        parts.append(_TRUE if value else _FALSE)
    elif kind == "z" and isinstance(value, datetime):
        found = instants.get(value)
        if found is None:
            found = instants[value] = _INT8.pack(8, _microseconds(value))
        parts.append(found)
    elif kind == "j" and isinstance(value, bytes):
        parts.append(_LENGTH.pack(len(value) + 1))
        parts.append(_JSONB_VERSION)
        parts.append(value)
    else:
        raise TypeError(f"no COPY binary form of kind {kind!r} for {type(value).__name__}")


def _microseconds(moment: datetime) -> int:
    """Microseconds since 2000-01-01 UTC (exact integer arithmetic; a naive ``moment`` raises)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def history_stream(rows: Sequence[VersionRow], seqs: Sequence[int]) -> bytes:
    """The COPY binary stream of the ``copy_history`` statement for ``rows`` stored at
    ``seqs``: what :func:`copy_binary` makes of those columns, without building a tuple per
    row or dispatching on each value's kind (~3 -> ~1 µs per row: the bulk loader's writer
    spends this per resource, docs/benchmarks.md "Session 9: COPY stream")."""
    texts: dict[str, bytes] = {}  # resource types and methods: a few values, encoded once
    instants: dict[datetime, int] = {}
    parts = [_HEADER]
    for seq, row in zip(seqs, rows, strict=True):
        moment = _instant(instants, row.last_updated)
        parts.append(_HISTORY_FIXED.pack(9, 8, seq, 4, row.version, 8, moment, 1, row.deleted))
        parts.append(_repeated_text(texts, row.resource_type))
        parts.append(_text(row.id))
        parts.append(_repeated_text(texts, row.method))
        parts.append(_NULL if row.compartment is None else _text(row.compartment))
        parts.append(_LENGTH.pack(len(row.body)))
        parts.append(row.body)
    parts.append(_TRAILER)
    return b"".join(parts)


def current_stream(rows: Sequence[tuple[VersionRow, int]]) -> bytes:
    """The COPY binary stream of the ``copy_current`` statement for ``(row, seq)`` pairs: no
    body (the row points to its history row by ``seq``; migration 0016)."""
    texts: dict[str, bytes] = {}
    instants: dict[datetime, int] = {}
    parts = [_HEADER]
    for row, seq in rows:
        moment = _instant(instants, row.last_updated)
        parts.append(_CURRENT_FIXED.pack(7, 4, row.version, 8, seq, 8, moment, 1, row.deleted))
        parts.append(_repeated_text(texts, row.resource_type))
        parts.append(_text(row.id))
        parts.append(_NULL if row.compartment is None else _text(row.compartment))
    parts.append(_TRAILER)
    return b"".join(parts)


def _text(value: str) -> bytes:
    data = value.encode()
    return _LENGTH.pack(len(data)) + data


def _repeated_text(known: dict[str, bytes], value: str) -> bytes:
    found = known.get(value)
    if found is None:
        found = known[value] = _text(value)
    return found


def _instant(known: dict[datetime, int], moment: datetime) -> int:
    """A batch shares a few timestamps: each converted once."""
    found = known.get(moment)
    if found is None:
        found = known[moment] = _microseconds(moment)
    return found
