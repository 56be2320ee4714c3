"""Search over the current-version table: ``_id``, ``_lastUpdated``, sort, totals, paging.

https://hl7.org/fhir/R4/search.html — parameters are ANDed, comma-separated values ORed;
``_sort`` on ``_id``/``_lastUpdated`` with the row's sequence number as the final tie-breaker
so keyset paging is total. The later search issue adds index-table joins here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yteso.fhir.errors import Invalid
from yteso.store.base import SearchParam, SearchQuery
from yteso.store.date_ranges import date_condition
from yteso.store.instants import format_instant, parse_instant
from yteso.store.paging_cursors import CursorValue, PageCursor, decode_cursor
from yteso.store.sql_dialect import SqlDialect, SqlParams

SEARCH_PARAMS = frozenset({"_id", "_lastUpdated"})
DEFAULT_COUNT = 50
MAX_COUNT = 1000
TOTAL_MODES = ("none", "estimate", "accurate")

SELECT_COLUMNS = "c.resource_type, c.id, c.version, c.last_updated, h.body, h.method, c.seq"


@dataclass(frozen=True)
class SortKey:
    column: str
    ascending: bool
    kind: str  # text | instant | int (how a cursor value is bound)
    row_index: int  # where the value sits in a row of SELECT_COLUMNS


_SORTABLE = {
    "_id": ("c.id", "text", 1),
    "_lastUpdated": ("c.last_updated", "instant", 3),
}


@dataclass(frozen=True)
class Statement:
    sql: str
    params: list[object]


@dataclass(frozen=True)
class SearchPlan:
    page: Statement  # fetches count + 1 rows to learn whether another page exists
    total: Statement | None
    keys: tuple[SortKey, ...]
    count: int
    cursor: PageCursor | None


def supported_search_params(resource_type: str | None) -> frozenset[str]:
    """The search parameters the store understands for ``resource_type`` (any type now)."""
    del resource_type
    return SEARCH_PARAMS


def sort_keys(sort: tuple[str, ...]) -> tuple[SortKey, ...]:
    keys: list[SortKey] = []
    for item in sort:
        name = item.removeprefix("-")
        if name not in _SORTABLE:
            raise Invalid(f"cannot sort by '{name}' (only _id, _lastUpdated)", expression="_sort")
        column, kind, index = _SORTABLE[name]
        keys.append(SortKey(column, not item.startswith("-"), kind, index))
    keys.append(SortKey("c.seq", True, "int", 6))
    return tuple(keys)


def cursor_values(
    keys: tuple[SortKey, ...], row: tuple[object, ...], dialect: SqlDialect
) -> tuple[CursorValue, ...]:
    values: list[CursorValue] = []
    for key in keys:
        raw = row[key.row_index]
        if key.kind == "instant":
            values.append(format_instant(dialect.read_instant(raw)))
        else:
            assert isinstance(raw, str | int)
            values.append(raw)
    return tuple(values)


def _param_condition(param: SearchParam, params: SqlParams, now: datetime) -> str:
    if param.name not in SEARCH_PARAMS:
        raise Invalid(f"unknown search parameter '{param.name}'", expression=param.name)
    if param.modifier is not None:
        raise Invalid(
            f"modifier ':{param.modifier}' is not supported on '{param.name}'",
            expression=param.name,
        )
    if param.name == "_id":
        return f"c.id IN ({params.bind_all(param.values)})"
    ors = []
    for value in param.values:
        condition = date_condition(value, now)
        bounds = []
        if condition.lower is not None:
            bounds.append(
                f"c.last_updated >= {params.bind(params.dialect.bind_instant(condition.lower))}"
            )
        if condition.upper is not None:
            bounds.append(
                f"c.last_updated < {params.bind(params.dialect.bind_instant(condition.upper))}"
            )
        test = " AND ".join(bounds) or "1 = 1"
        ors.append(f"NOT ({test})" if condition.negate else f"({test})")
    return "(" + " OR ".join(ors) + ")"


def _filters(
    resource_type: str | None, query: SearchQuery, params: SqlParams, now: datetime
) -> list[str]:
    conditions = ["NOT c.deleted"]
    if resource_type is not None:
        conditions.append(f"c.resource_type = {params.bind(resource_type)}")
    for param in query.params:
        if not param.values:
            raise Invalid(f"search parameter '{param.name}' has no value", expression=param.name)
        conditions.append(_param_condition(param, params, now))
    return conditions


def _keyset_condition(keys: tuple[SortKey, ...], cursor: PageCursor, params: SqlParams) -> str:
    """``(k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...`` with each key's own direction."""
    ors = []
    for position, key in enumerate(keys):
        terms = [
            f"{k.column} = {params.bind(_bind(k, cursor.values[i], params))}"
            for i, k in enumerate(keys[:position])
        ]
        operator = ">" if key.ascending == cursor.forward else "<"
        bound = params.bind(_bind(key, cursor.values[position], params))
        terms.append(f"{key.column} {operator} {bound}")
        ors.append("(" + " AND ".join(terms) + ")")
    return "(" + " OR ".join(ors) + ")"


def _bind(key: SortKey, value: CursorValue, params: SqlParams) -> object:
    """A cursor value as a bound parameter; a value of the wrong kind is a client error."""
    if key.kind == "instant" and isinstance(value, str):
        try:
            return params.dialect.bind_instant(parse_instant(value))
        except ValueError:
            pass
    elif (key.kind == "int") == isinstance(value, int):
        return value
    raise Invalid("the paging cursor does not fit this search's sort", expression="_cursor")


def _order_by(keys: tuple[SortKey, ...], forward: bool) -> str:
    return ", ".join(f"{k.column} {'ASC' if k.ascending == forward else 'DESC'}" for k in keys)


def plan_search(
    dialect: SqlDialect, resource_type: str | None, query: SearchQuery, now: datetime
) -> SearchPlan:
    count = DEFAULT_COUNT if query.count is None else max(0, min(query.count, MAX_COUNT))
    if query.total not in (None, *TOTAL_MODES):
        raise Invalid(f"_total must be one of {', '.join(TOTAL_MODES)}", expression="_total")
    keys = sort_keys(query.sort)
    cursor = decode_cursor(query.cursor, len(keys)) if query.cursor else None
    total = None
    if query.total in ("estimate", "accurate"):
        counted = SqlParams(dialect)
        where = " AND ".join(_filters(resource_type, query, counted, now))
        total = Statement(f"SELECT count(*) FROM resource_current c WHERE {where}", counted.values)
    params = SqlParams(dialect)
    conditions = _filters(resource_type, query, params, now)
    if cursor is not None:
        conditions.append(_keyset_condition(keys, cursor, params))
    forward = cursor is None or cursor.forward
    sql = (
        f"SELECT {SELECT_COLUMNS} FROM resource_current c JOIN resource_history h ON h.seq = c.seq"
        f" WHERE {' AND '.join(conditions)} ORDER BY {_order_by(keys, forward)}"
        f" LIMIT {params.bind(count + 1)}"
    )
    return SearchPlan(Statement(sql, params.values), total, keys, count, cursor)
