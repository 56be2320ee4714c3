"""PostgreSQL COPY text format, built in Python instead of psycopg's per-row ``write_row``.

https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2 : tab-separated
columns, ``\\N`` for NULL, backslash escapes for backslash, tab, CR and LF. The values are
what psycopg would send in text form, so the stored rows are the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from yteso.store.index_tables import INDEX_COLUMNS
from yteso.store.index_values import IndexRow, IndexValue
from yteso.store.param_keys import cached_key


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


def copy_tables(entries: Iterable[tuple[str, str, list[IndexRow]]]) -> dict[str, bytes]:
    """Per index table (those with rows), the COPY text of the ``(type, id, rows)`` entries'
    rows ``(type, id, param, pkey, *values)``, in order: what ``copy_statement`` reads.

    Written straight from the index rows, one string per row: the type and id once per
    resource, the parameter and its key once per process (:data:`_HEADS`), each value escaped
    on its own (a search for a backslash, tab or line break in a short string finds none and
    is cheap). It replaced an insert tuple per row (``rows_by_table``) turned into COPY text
    value by value and then checked whole for characters to escape: a worker's block of a
    chunk took ~126k instructions per resource that way, ~63k this way (docs/benchmarks.md,
    "Session 11")."""
    # the tables in INDEX_COLUMNS order (composite component tables after them), as before:
    # ``token`` and ``token+element`` both fill search_token, so this keeps its row order
    lines: dict[str, list[str]] = {table: [] for table in INDEX_COLUMNS}
    for resource_type, id, rows in entries:
        heads = _HEADS.get(resource_type)
        if heads is None:
            heads = _HEADS[resource_type] = {}
        key = f"{_field(resource_type)}\t{_field(id)}\t"
        for table, param, values in rows:
            head = heads.get(param)
            if head is None:
                head = heads[param] = f"{_field(param)}\t{cached_key(resource_type, param)}\t"
            found = lines.get(table)
            if found is None:  # composite component rows (``token+element``)
                found = lines[table] = []
            found.append(_line(key, head, values))
    return {table: "".join(found).encode() for table, found in lines.items() if found}


# Per resource type, per parameter: the COPY text of ``param`` and its key, tabs after each.
_HEADS: Final[dict[str, dict[str, str]]] = {}


def _line(key: str, head: str, values: tuple[IndexValue, ...]) -> str:
    """One row's line; the common widths as one f-string (a single allocation, no list)."""
    width = len(values)
    if width == 3:  # token, reference
        return f"{key}{head}{_field(values[0])}\t{_field(values[1])}\t{_field(values[2])}\n"
    if width == 2:  # string, date
        return f"{key}{head}{_field(values[0])}\t{_field(values[1])}\n"
    if width == 1:  # number, uri, text
        return f"{key}{head}{_field(values[0])}\n"
    return key + head + "\t".join([_field(value) for value in values]) + "\n"
