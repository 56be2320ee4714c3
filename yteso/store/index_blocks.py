"""One bulk-load chunk's search index rows, made ready for the writer by the worker.

The bulk loader has one writer, so every microsecond it spends per resource caps the load rate.
Workers therefore group a chunk's index rows by table themselves, as the final insert tuples
(SQLite ``executemany``) or as ``COPY`` text (PostgreSQL): the writer only executes them, and
unpickling a few ``bytes`` per table costs nothing next to thousands of tuples.

COPY text format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
(tab-separated columns, ``\\N`` for NULL, backslash escapes for backslash, tab, CR and LF).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

from yteso.store.index_tables import rows_by_table
from yteso.store.index_values import IndexRow

BlockFormat = Literal["rows", "copy"]
Key = tuple[str, str]


class IndexBlock(NamedTuple):
    """``keys``: the resources whose rows the block holds (each once: a resource repeated in
    the chunk keeps only its last version's rows); ``tables``: per index table, insert tuples
    ``(resource_type, id, param, *values)`` or, for ``copy``, the COPY text of those rows."""

    keys: list[Key]
    tables: dict[str, list[tuple[object, ...]]] | dict[str, bytes]


def index_block(entries: Iterable[tuple[str, str, list[IndexRow]]], fmt: BlockFormat) -> IndexBlock:
    """The block of ``(type, id, rows)`` entries, in order; a later entry of the same key
    replaces an earlier one."""
    last: dict[Key, list[IndexRow]] = {}
    for resource_type, id, rows in entries:
        last[(resource_type, id)] = rows
    grouped = rows_by_table((key[0], key[1], rows) for key, rows in last.items())
    keys = list(last)
    if fmt == "rows":
        return IndexBlock(keys, {table: rows for table, rows in grouped.items() if rows})
    return IndexBlock(keys, {table: copy_text(rows) for table, rows in grouped.items() if rows})


def _plain(value: object) -> str:
    """A value that is not a string (so needs no escaping)."""
    if value is None:
        return "\\N"
    if type(value) is float:
        if math.isfinite(value):
            return repr(value)  # the shortest text that reads back as the same double
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if type(value) is bool:
        return "t" if value else "f"
    if type(value) is int:
        return str(value)
    raise TypeError(f"no COPY text form for {type(value).__name__}")


def _field(value: object) -> str:
    if value is None:
        return "\\N"
    if type(value) is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return value
    return _plain(value)


def copy_text(rows: Sequence[Sequence[object]]) -> bytes:
    """The COPY text of ``rows`` (one line per row, all rows of one width).

    Strings almost never hold a character COPY escapes, so the rows are joined first and the
    text checked once: one tab too many, a line break, CR or backslash inside a value sends
    the block through the per-value escaping instead (a function call per value: ~2x)."""
    if not rows:
        return b""
    text = "\n".join(
        [
            "\t".join([v if type(v) is str else "\\N" if v is None else _plain(v) for v in row])
            for row in rows
        ]
    )
    if (
        "\\" in text
        or "\r" in text
        or text.count("\n") != len(rows) - 1
        or text.count("\t") != len(rows) * (len(rows[0]) - 1)
    ):
        text = "\n".join(["\t".join(map(_field, row)) for row in rows])
    return (text + "\n").encode()
