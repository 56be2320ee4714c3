"""Pages read in the order of the first sort key's index (a type search sorted by an
indexed parameter, with no filter), then the resources without a value for that key.
"""

from __future__ import annotations

from dataclasses import replace

from yteso.store.base import SearchQuery
from yteso.store.paging_cursors import PageCursor
from yteso.store.search_compiler import NOT_FILTERS
from yteso.store.search_statements import (
    MISSING_SORT_VALUES,
    SELECT_COLUMNS,
    SORT_COLUMNS,
    SortKey,
    Statement,
    keyset_condition,
    order_by,
    type_first,
)
from yteso.store.sql_dialect import SqlDialect, SqlParams


def index_driven(resource_type: str | None, query: SearchQuery, keys: tuple[SortKey, ...]) -> bool:
    """Whether to read the page in the order of the first sort key's index: for a type-level
    search sorted by an indexed parameter with no filter (a filter usually selects fewer
    rows than the type holds, and then sorting its matches is cheaper than walking the index)."""
    return (
        resource_type is not None
        and keys[0].table is not None
        and all(p.name in NOT_FILTERS for p in query.params)
    )


def index_driven_pages(
    dialect: SqlDialect,
    resource_type: str,
    keys: tuple[SortKey, ...],
    cursor: PageCursor | None,
    count: int,
) -> tuple[Statement, ...]:
    """A page read in the order of the sort index, then (or first, by direction) the
    resources without a value for it, which sort as the lowest value.

    Each resource is represented by one index row: its smallest value ascending, its largest
    descending (the row with no better sibling, ties broken by the row identity)."""
    first = keys[0]
    assert first.table is not None
    forward = cursor is None or cursor.forward
    missing_first = first.ascending == forward
    at_missing = cursor is not None and cursor.values[0] == _missing_value(first)
    statements = []
    if not (at_missing and not missing_first):  # the valued group is still ahead
        statements.append(_valued_page(dialect, resource_type, keys, cursor, count, at_missing))
    if not (cursor is not None and not at_missing and missing_first):
        missing = _missing_page(dialect, resource_type, keys, cursor if at_missing else None, count)
        statements.insert(0 if missing_first else len(statements), missing)
    return tuple(statements)


def _missing_value(key: SortKey) -> object:
    return float(MISSING_SORT_VALUES[key.kind]) if key.kind == "number" else ""


def _valued_page(
    dialect: SqlDialect,
    resource_type: str,
    keys: tuple[SortKey, ...],
    cursor: PageCursor | None,
    count: int,
    skip_keyset: bool,
) -> Statement:
    first = keys[0]
    assert first.table is not None and first.param is not None
    column, _ = SORT_COLUMNS[first.table]
    driven = (replace(first, direct=f"x.{column}"), *keys[1:])
    params = SqlParams(dialect)
    selected = f", x.{column} AS {first.column}" + "".join(
        f", {k.expression(params)} AS {k.column}" for k in keys[1:] if k.table
    )
    better = "<" if first.ascending else ">"
    rid = dialect.row_identity
    # x's rows are the type's (their pkey says so): the join names the type itself, so the
    # scan of x reads only what its value index holds (pkey, value, id)
    joined = params.bind(resource_type)
    conditions = [
        first.rows_of("x", params).removeprefix(" AND "),
        f"x.{column} IS NOT NULL",
        f"NOT EXISTS (SELECT 1 FROM search_{first.table} y WHERE y.id = x.id"
        f"{_siblings(first, params)} AND (y.{column} {better} x.{column}"
        f" OR (y.{column} = x.{column} AND y.{rid} < x.{rid})))",
        "NOT c.deleted",
    ]
    if cursor is not None and not skip_keyset:
        conditions.append(keyset_condition(driven, cursor, params))
    forward = cursor is None or cursor.forward
    sql = (
        f"SELECT {SELECT_COLUMNS}{selected} FROM search_{first.table} x"
        f" JOIN resource_current c ON c.resource_type = {joined} AND c.id = x.id"
        " JOIN resource_history h ON h.seq = c.seq"
        f" WHERE {' AND '.join(conditions)} ORDER BY {order_by(keys, forward)}"
        f" LIMIT {params.bind(count + 1)}"
    )
    return Statement(sql, params.values)


def _siblings(first: SortKey, params: SqlParams) -> str:
    """The other rows of the key's parameter on the same resource (bound in text order)."""
    return " AND y.pkey = x.pkey" if first.source is None else first.rows_of("y", params)


def _missing_page(
    dialect: SqlDialect,
    resource_type: str,
    keys: tuple[SortKey, ...],
    cursor: PageCursor | None,
    count: int,
) -> Statement:
    """The resources of the type with no value for the first key, in the order of the rest."""
    first, rest = keys[0], keys[1:]
    assert first.table is not None and first.param is not None
    column, kind = SORT_COLUMNS[first.table]
    params = SqlParams(dialect)
    selected = f", {MISSING_SORT_VALUES[kind]} AS {first.column}" + "".join(
        f", {k.expression(params)} AS {k.column}" for k in rest if k.table
    )
    conditions = [
        "NOT c.deleted",
        f"c.resource_type = {params.bind(resource_type)}",
        f"NOT EXISTS (SELECT 1 FROM search_{first.table} y WHERE y.id = c.id"
        f"{first.rows_of('y', params)} AND y.{column} IS NOT NULL)",
    ]
    if cursor is not None:
        tail = PageCursor(cursor.values[1:], cursor.forward)
        conditions.append(keyset_condition(rest, tail, params))
    forward = cursor is None or cursor.forward
    sql = (
        f"SELECT {SELECT_COLUMNS}{selected}"
        " FROM resource_current c JOIN resource_history h ON h.seq = c.seq"
        f" WHERE {' AND '.join(conditions)}"
        f" ORDER BY {type_first(resource_type)}{order_by(rest, forward)}"
        f" LIMIT {params.bind(count + 1)}"
    )
    return Statement(sql, params.values)
