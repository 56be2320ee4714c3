"""The parts a search plan is made of: its statements, sort keys and keyset conditions.

https://hl7.org/fhir/R4/search.html#sort — ``_sort`` takes any indexed parameter (several keys,
``-`` descending) with the row's sequence number as the final tie-breaker, so keyset paging is
total. Shared by the filters (:mod:`search_filters`), the index-driven pages
(:mod:`search_index_pages`) and the planner (:mod:`search_sql`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from yteso.fhir.errors import Invalid
from yteso.store.instants import parse_instant
from yteso.store.paging_cursors import CursorValue, PageCursor
from yteso.store.shared_rows import RowSource, rows_test
from yteso.store.sql_dialect import SqlParams

SEARCH_PARAMS = frozenset({"_id", "_lastUpdated"})
# The column each index table sorts by, and how a missing value sorts (first ascending).
SORT_COLUMNS = {
    "string": ("norm", "text"),
    "token": ("code", "text"),
    "date": ("low", "text"),
    "number": ("value", "number"),
    "quantity": ("value", "number"),
    "reference": ("target_id", "text"),
    "uri": ("value", "text"),
}
MISSING_SORT_VALUES = {"text": "''", "number": "-1e300"}

SELECT_COLUMNS = "c.resource_type, c.id, c.version, c.last_updated, h.body, h.method, c.seq"
# The same columns over a page cut from resource_current (``c``: type, id, seq) and its
# history rows (``h``), which hold the same version and last_updated.
PAGE_COLUMNS = "c.resource_type, c.id, h.version, h.last_updated, h.body, h.method, c.seq"


@dataclass(frozen=True)
class SortKey:
    column: str  # a column of c, or the alias of an indexed sort value (k0, k1...)
    ascending: bool
    kind: str  # text | instant | int | number (how a cursor value is bound)
    row_index: int  # where the value sits in a selected row
    table: str | None = None  # indexed parameter: its index table and code
    param: str | None = None
    direct: str | None = None  # the value read straight from a joined index row (``x.low``)
    # where the parameter's rows are, when it shares another's (:mod:`shared_rows`)
    source: RowSource | None = None
    resource_type: str | None = None  # the searched type (None: a system search)

    def rows_of(self, alias: str, params: SqlParams) -> str:
        """``AND alias.pkey = ?`` (or the rows it shares): the key's index rows."""
        assert self.param is not None
        source = self.source or RowSource(self.param)
        return " AND " + rows_test(self.resource_type, source, alias, params.bind)

    def expression(self, params: SqlParams) -> str:
        """The SQL of this key's value for row ``c`` (binds the parameter code)."""
        if self.direct is not None:
            return self.direct
        if self.table is None:
            return self.column
        column, kind = SORT_COLUMNS[self.table]
        pick = "min" if self.ascending else "max"
        # with a type, the key's pkey implies it: (id, pkey) is what the per-resource index holds
        same = "" if self.resource_type else "x.resource_type = c.resource_type AND "
        return (
            f"COALESCE((SELECT {pick}(x.{column}) FROM search_{self.table} x"
            f" WHERE {same}x.id = c.id{self.rows_of('x', params)}), {MISSING_SORT_VALUES[kind]})"
        )


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
    # Read in order after ``page`` while fewer than count + 1 rows were found (a sort driven
    # from an index reads the resources lacking the sort value as a separate group).
    more: tuple[Statement, ...] = ()


Probe = Callable[[Statement], int]


def keyset_condition(keys: tuple[SortKey, ...], cursor: PageCursor, params: SqlParams) -> str:
    """``k1 >= v1 AND ((k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...)``, each key in its own
    direction. The leading bound is implied by the ORs; alone it is a range the planner can
    scan in index order (the OR by itself makes SQLite sort every row past the cursor)."""
    first = keys[0]
    lead_operator = ">=" if first.ascending == cursor.forward else "<="
    lead_value = first.expression(params)  # bound first: the statement binds in text order
    lead = f"{lead_value} {lead_operator} {params.bind(_bind(first, cursor.values[0], params))}"
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
    return f"{lead} AND (" + " OR ".join(ors) + ")"


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


def type_first(resource_type: str | None) -> str:
    """For a type search, order by the type first: only the (resource_type, seq) index yields
    that order, so PostgreSQL does not walk the global seq index filtering on type (its cost
    model assumes the types interleave; after a bulk load they come in blocks: 660,000 rows
    passed before the first Observation at 1M resources)."""
    return "" if resource_type is None else "c.resource_type, "


def order_by(keys: tuple[SortKey, ...], forward: bool) -> str:
    return ", ".join(f"{k.column} {'ASC' if k.ascending == forward else 'DESC'}" for k in keys)
