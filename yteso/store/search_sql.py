"""Search over the current-version table: filters, sort, totals, keyset paging.

https://hl7.org/fhir/R4/search.html — parameters are ANDed, comma-separated values ORed;
``_id``/``_lastUpdated`` test columns of ``resource_current``, every other parameter is a
subquery over its index table (:mod:`search_compiler`). ``_sort`` takes any indexed parameter
(several keys, ``-`` descending) with the row's sequence number as the final tie-breaker, so
keyset paging is total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yteso.fhir.errors import Invalid
from yteso.store.base import SearchParam, SearchQuery
from yteso.store.instants import format_instant, parse_instant
from yteso.store.paging_cursors import CursorValue, PageCursor, decode_cursor
from yteso.store.search_compiler import (
    NOT_FILTERS,
    TABLE_OF_TYPE,
    SearchCompiler,
    definitions_for,
    last_updated_test,
    supported_params,
)
from yteso.store.sql_dialect import SqlDialect, SqlParams

SEARCH_PARAMS = frozenset({"_id", "_lastUpdated"})
# The column each index table sorts by, and how a missing value sorts (first ascending).
_SORT_COLUMNS = {
    "string": ("norm", "text"),
    "token": ("code", "text"),
    "date": ("low", "text"),
    "number": ("value", "number"),
    "quantity": ("value", "number"),
    "reference": ("target_id", "text"),
    "uri": ("value", "text"),
}
_MISSING = {"text": "''", "number": "-1e300"}
DEFAULT_COUNT = 50
MAX_COUNT = 1000
TOTAL_MODES = ("none", "estimate", "accurate")

SELECT_COLUMNS = "c.resource_type, c.id, c.version, c.last_updated, h.body, h.method, c.seq"


@dataclass(frozen=True)
class SortKey:
    column: str  # a column of c, or the alias of an indexed sort value (k0, k1...)
    ascending: bool
    kind: str  # text | instant | int | number (how a cursor value is bound)
    row_index: int  # where the value sits in a selected row
    table: str | None = None  # indexed parameter: its index table and code
    param: str | None = None

    def expression(self, params: SqlParams) -> str:
        """The SQL of this key's value for row ``c`` (binds the parameter code)."""
        if self.table is None:
            return self.column
        column, kind = _SORT_COLUMNS[self.table]
        pick = "min" if self.ascending else "max"
        return (
            f"COALESCE((SELECT {pick}(x.{column}) FROM search_{self.table} x"
            " WHERE x.resource_type = c.resource_type AND x.id = c.id"
            f" AND x.param = {params.bind(self.param)}), {_MISSING[kind]})"
        )


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
    """The search parameters the store understands for ``resource_type`` (every R4 one)."""
    return supported_params(resource_type)


def sort_keys(resource_type: str | None, sort: tuple[str, ...]) -> tuple[SortKey, ...]:
    keys: list[SortKey] = []
    extra = len(SELECT_COLUMNS.split(","))
    for item in sort:
        name = item.removeprefix("-")
        ascending = not item.startswith("-")
        if name in _SORTABLE:
            column, kind, index = _SORTABLE[name]
            keys.append(SortKey(column, ascending, kind, index))
            continue
        definition = definitions_for(resource_type).get(name)
        table = TABLE_OF_TYPE.get(definition.type) if definition else None
        if table is None:
            raise Invalid(f"cannot sort by '{name}'", expression="_sort")
        kind = _SORT_COLUMNS[table][1]
        alias = f"k{extra}"
        keys.append(SortKey(alias, ascending, kind, extra, table, name))
        extra += 1
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
        elif key.kind == "number":
            values.append(float(raw))  # type: ignore[arg-type]
        else:
            assert isinstance(raw, str | int)
            values.append(raw)
    return tuple(values)


def _param_condition(
    resource_type: str | None, param: SearchParam, params: SqlParams, now: datetime
) -> str:
    if param.name not in SEARCH_PARAMS or param.modifier is not None:
        return SearchCompiler(params, now).condition(resource_type, param)
    if param.name == "_id":
        return f"c.id IN ({params.bind_all(param.values)})"
    ors = [last_updated_test(params, "c.last_updated", value, now) for value in param.values]
    return "(" + " OR ".join(ors) + ")"


def _filters(
    resource_type: str | None, query: SearchQuery, params: SqlParams, now: datetime
) -> list[str]:
    conditions = ["NOT c.deleted"]
    if resource_type is not None:
        conditions.append(f"c.resource_type = {params.bind(resource_type)}")
    for param in query.params:
        if param.name in NOT_FILTERS:
            continue
        if not param.values:
            raise Invalid(f"search parameter '{param.name}' has no value", expression=param.name)
        conditions.append(_param_condition(resource_type, param, params, now))
    return conditions


def _keyset_condition(keys: tuple[SortKey, ...], cursor: PageCursor, params: SqlParams) -> str:
    """``(k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...`` with each key's own direction."""
    ors = []
    for position, key in enumerate(keys):
        terms = []
        for i, k in enumerate(keys[:position]):
            value = k.expression(params)
            terms.append(f"{value} = {params.bind(_bind(k, cursor.values[i], params))}")
        operator = ">" if key.ascending == cursor.forward else "<"
        value = key.expression(params)
        bound = params.bind(_bind(key, cursor.values[position], params))
        terms.append(f"{value} {operator} {bound}")
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
    keys = sort_keys(resource_type, query.sort)
    cursor = decode_cursor(query.cursor, len(keys)) if query.cursor else None
    total = None
    if query.total in ("estimate", "accurate"):
        counted = SqlParams(dialect)
        where = " AND ".join(_filters(resource_type, query, counted, now))
        total = Statement(f"SELECT count(*) FROM resource_current c WHERE {where}", counted.values)
    params = SqlParams(dialect)
    # Sort values are selected first: their bound codes come first in the statement.
    selected = "".join(f", {k.expression(params)} AS {k.column}" for k in keys if k.table)
    conditions = _filters(resource_type, query, params, now)
    if cursor is not None:
        conditions.append(_keyset_condition(keys, cursor, params))
    forward = cursor is None or cursor.forward
    sql = (
        f"SELECT {SELECT_COLUMNS}{selected}"
        " FROM resource_current c JOIN resource_history h ON h.seq = c.seq"
        f" WHERE {' AND '.join(conditions)} ORDER BY {_order_by(keys, forward)}"
        f" LIMIT {params.bind(count + 1)}"
    )
    return SearchPlan(Statement(sql, params.values), total, keys, count, cursor)
