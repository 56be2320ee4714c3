"""PostgreSQL COPY text format, built in Python instead of psycopg's per-row ``write_row``.

https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2 : tab-separated
columns, ``\\N`` for NULL, backslash escapes for backslash, tab, CR and LF. The values are
what psycopg would send in text form, so the stored rows are the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime


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
    if isinstance(value, datetime):
        return value.isoformat()
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
    text checked once: one tab too many, a line break, CR or a backslash other than those of
    the ``\\N`` written for NULLs sends the block through the per-value escaping instead (a
    function call per value: ~2x). Counting the NULLs' backslashes matters: every token
    table has NULLs, and a plain ``"\\" in text`` sent all of them the slow way (~50k of
    ~100k instructions per resource in a PostgreSQL worker, docs/benchmarks.md "Session 10")."""
    if not rows:
        return b""
    parts: list[str] = []
    nulls = 0
    for row in rows:
        nulls += _append_row(parts, row if type(row) is tuple else tuple(row))
    text = "".join(parts)
    if (
        ("\\" in text if nulls == 0 else text.count("\\") != nulls)
        or "\r" in text
        or text.count("\n") != len(rows)
        or text.count("\t") != len(rows) * (len(rows[0]) - 1)
    ):
        text = "\n".join(["\t".join(map(_field, row)) for row in rows]) + "\n"
    return text.encode()


def _append_row(parts: list[str], row: tuple[object, ...]) -> int:
    """One row's values, each followed by its separator (a tab, the last a line break): one
    join for the whole block. A tuple, so that mypyc indexes it. Returns its NULLs."""
    nulls = 0
    last = len(row) - 1
    for index in range(last + 1):
        value = row[index]
        if type(value) is str:
            parts.append(value)
        elif value is None:
            parts.append("\\N")
            nulls += 1
        else:
            parts.append(_plain(value))
        parts.append("\t" if index < last else "\n")
    return nulls
