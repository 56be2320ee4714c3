"""The search index tables: their columns, and the statements that fill and clear them.

The tables themselves are created by migration ``0003_search_indexes.sql`` of each backend
(their ``element`` column by ``0009``); this is the one place that knows their column order,
so extraction (:mod:`index_values`), writes (the backends) and the search compiler agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from yteso.store.composite_rows import ELEMENT
from yteso.store.index_values import IndexRow
from yteso.store.param_keys import keys_of, param_key

INDEX_COLUMNS: dict[str, tuple[str, ...]] = {
    "string": ("norm", "exact"),
    "token": ("system", "code", "display"),
    "date": ("low", "high"),
    "number": ("value",),
    "quantity": ("system", "code", "value", "canonical_code", "canonical_value"),
    "reference": ("target_type", "target_id", "url"),
    "uri": ("value",),
    "text": ("content",),
}


def _columns(table: str) -> tuple[str, tuple[str, ...]]:
    """The physical table and the columns of a row group: ``token+element`` (a composite
    parameter's component rows, :mod:`composite_rows`) adds the element ordinal (migration
    0009) to the ``token`` table's columns."""
    physical, element, _ = table.partition(ELEMENT)
    extra = ("element",) if element else ()
    return physical, ("resource_type", "id", "param", "pkey", *INDEX_COLUMNS[physical], *extra)


def column_count(table: str) -> int:
    """The values of one row of the row group ``table`` (its insert statement's ``?``)."""
    return len(_columns(table)[1])


def insert_statement(table: str, placeholder: str) -> str:
    physical, columns = _columns(table)
    marks = ", ".join(placeholder for _ in columns)
    return f"INSERT INTO search_{physical} ({', '.join(columns)}) VALUES ({marks})"


def copy_statement(table: str) -> str:
    physical, columns = _columns(table)
    return f"COPY search_{physical} ({', '.join(columns)}) FROM STDIN"


def rows_by_table(
    entries: Iterable[tuple[str, str, list[IndexRow]]],
) -> dict[str, list[tuple[object, ...]]]:
    """``(type, id, rows)`` entries as insertable tuples ``(type, id, param, pkey, *values)``
    grouped by table."""
    grouped: dict[str, list[tuple[object, ...]]] = {table: [] for table in INDEX_COLUMNS}
    for resource_type, id, rows in entries:
        keys = keys_of(resource_type)
        for table, param, values in rows:
            if table not in grouped:  # composite component rows (``token+element``)
                grouped[table] = []
            pkey = keys.get(param)
            if pkey is None:
                pkey = keys[param] = param_key(resource_type, param)
            grouped[table].append((resource_type, id, param, pkey, *values))
    return grouped
