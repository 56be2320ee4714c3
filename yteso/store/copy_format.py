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

from yteso.native import c_extension
from yteso.store.index_tables import INDEX_COLUMNS
from yteso.store.index_values import IndexRow, IndexValue
from yteso.store.param_keys import cached_key


def _plain(value: object) -> str:
    """A value that is not a string (so needs no escaping)."""
    if value is None:
        return "\\N"
    if type(value) is float:
        return _float(value)
    if type(value) is bool:
        return "t" if value else "f"
    if type(value) is int:
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"no COPY text form for {type(value).__name__}")


def _float(value: float) -> str:
    text = _FLOATS.get(value)
    if text is not None:
        return text
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    text = repr(value)  # the shortest text that reads back as the same double
    # 0.0 and -0.0 are one key but two texts; NaN (not finite) would never be found again
    if value != 0.0 and len(_FLOATS) < _FLOATS_KEPT:
        _FLOATS[value] = text
    return text


# The text of floats already written: quantities repeat (a 20,000-resource sample of the bench
# data held 50,000 floats, 2,177 distinct) and ``repr`` of a double costs ~1,300 instructions.
_FLOATS: Final[dict[float, str]] = {}
_FLOATS_KEPT: Final = 100_000


def _field(value: object) -> str:
    if value is None:
        return "\\N"
    if type(value) is str:
        if not _clean(value):
            value = (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return value
    return _plain(value)


def _clean(text: str) -> bool:
    """No character that COPY text must escape (each search is a ``memchr``)."""
    return not ("\\" in text or "\t" in text or "\n" in text or "\r" in text)


def _unchecked(value: object, seen: list[str]) -> str:
    """A value as :func:`_field` writes it, strings as they are and kept in ``seen``, to be
    checked all at once (:func:`copy_tables`)."""
    if type(value) is str:
        seen.append(value)
        return value
    if value is None:
        return "\\N"
    return _plain(value)


# The C twin of python_copy_tables (``_blocks.c``), None when the Python runs (docs/dev/native.md).
_NATIVE: Final = c_extension("yteso.store._blocks")


def copy_tables(entries: Iterable[tuple[str, str, list[IndexRow]]]) -> dict[str, bytes]:
    """Per index table (those with rows), the COPY text of the ``(type, id, rows)`` entries'
    rows ``(type, id, param, pkey, *values)``, in order: what ``copy_statement`` reads.

    Written in C (``_blocks.copy_tables``, ~4x fewer instructions) when the compiled build is
    current; the C twin answers None for what the loader does not make (a value of another
    type, a subclass, a string that does not encode), and :func:`python_copy_tables`, the
    reference, answers or raises then."""
    listed = list(entries)
    if _NATIVE is not None:
        tables: dict[str, bytes] | None = _NATIVE.copy_tables(listed, INDEX_COLUMNS, cached_key)
        if tables is not None:
            return tables
    return python_copy_tables(listed)


def python_copy_tables(entries: Iterable[tuple[str, str, list[IndexRow]]]) -> dict[str, bytes]:
    """:func:`copy_tables` in Python: the reference its C twin must equal, byte for byte.

    Written straight from the index rows, one string per row: the type and id once per
    resource, the parameter and its key once per process (:data:`_HEADS`). String values are
    written as they are and checked all at once, joined, for a character to escape (four
    ``memchr`` over the block's values); only a block that holds one is written again with
    each value escaped on its own. Checking each value alone took ~18k of the ~62k
    instructions per resource (docs/benchmarks.md, "Session 12: ... (helper pgload)")."""
    listed = list(entries)
    seen: list[str] = []
    tables = _tables(listed, seen)
    if not _clean("".join(seen)):  # rare: a tab, line break or backslash in some value
        tables = _tables(listed, None)
    return {table: "".join(found).encode() for table, found in tables.items() if found}


def _tables(
    entries: list[tuple[str, str, list[IndexRow]]], seen: list[str] | None
) -> dict[str, list[str]]:
    """Each table's lines; string values unescaped and kept in ``seen``, or (``None``) escaped."""
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
            if seen is None:
                found.append(_line(key, head, values))
            else:
                found.append(_fast(key, head, values, seen))
    return lines


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


def _fast(key: str, head: str, values: tuple[IndexValue, ...], seen: list[str]) -> str:
    """:func:`_line` with its strings unescaped, kept in ``seen`` for the block's check."""
    width = len(values)
    if width == 3:
        return (
            f"{key}{head}{_unchecked(values[0], seen)}\t{_unchecked(values[1], seen)}"
            f"\t{_unchecked(values[2], seen)}\n"
        )
    if width == 2:
        return f"{key}{head}{_unchecked(values[0], seen)}\t{_unchecked(values[1], seen)}\n"
    if width == 1:
        return f"{key}{head}{_unchecked(values[0], seen)}\n"
    return key + head + "\t".join([_unchecked(value, seen) for value in values]) + "\n"
