"""Search over the current-version table: filters, sort, totals, keyset paging.

https://hl7.org/fhir/R4/search.html — parameters are ANDed, comma-separated values ORed;
``_id``/``_lastUpdated`` test columns of ``resource_current``, every other parameter is a
subquery over its index table (:mod:`search_compiler`). ``_sort`` takes any indexed parameter
(several keys, ``-`` descending) with the row's sequence number as the final tie-breaker, so
keyset paging is total.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from yteso.fhir.errors import Invalid
from yteso.store.base import Reach, SearchParam, SearchQuery
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

    def expression(self, params: SqlParams) -> str:
        """The SQL of this key's value for row ``c`` (binds the parameter code)."""
        if self.direct is not None:
            return self.direct
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
    # Read in order after ``page`` while fewer than count + 1 rows were found (a sort driven
    # from an index reads the resources lacking the sort value as a separate group).
    more: tuple[Statement, ...] = ()


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


# A filter matching at least this many index rows is "large": probed per candidate row
# (EXISTS) rather than materialised as a set of ids (IN), so a first page of a search that
# matches most of a type stops after count + 1 rows instead of reading the whole set.
LARGE_SET = 1000
# A date window's set is read from a bounded index range (cheap per row), while a probe
# costs one lookup per candidate: a week of encounters at 1M (1,488 of 224,177, 0.7%) reads in
# ~3 ms as a set and would probe ~7,700 candidates for a page. Ten times the plain bound.
LARGE_WINDOW = 10 * LARGE_SET
# A large set under this many rows is read once into a hash (PostgreSQL's hashed SubPlan,
# SQLite's ephemeral index) that each candidate, walked in seq order, is tested against: a
# name prefix held by 2,835 of 42,750 Patients at 1M walked 942 candidates, each an index
# descent (2,852 buffers) where the hash costs 33. Larger sets stay per-row probes (building
# the hash would read the whole set; the page needs few candidates when most rows match).
HASHED_SET = 10 * LARGE_SET


def _hashes(params: SqlParams) -> bool:
    """Whether medium sets are hashed: on PostgreSQL (each index descent is a few buffer
    visits); SQLite tests an IN list through a b-tree, and its in-process lookups are cheaper
    than walking candidates (1M: date range 4.7 -> 8.5 ms CPU, name prefix 3.0 -> 3.7)."""
    return params.dialect.name == "postgresql"


_PLAIN_SET = re.compile(r"c\.id IN \(SELECT s\.id FROM (search_[a-z]+) s WHERE (.*)\)", re.DOTALL)
# ``_has``: the referencing rows' targets (``SearchCompiler._has``), and its inner plain set.
_HAS_SET = re.compile(
    r"c\.id IN \(SELECT r\.target_id FROM (search_reference) r WHERE (.*)\)", re.DOTALL
)
_HAS_INNER = re.compile(
    r"(.*) AND r\.id IN \(SELECT s\.id FROM (search_[a-z]+) s WHERE (.*)\)", re.DOTALL
)

Probe = Callable[[Statement], int]


def _param_condition(
    resource_type: str | None,
    param: SearchParam,
    params: SqlParams,
    now: datetime,
    probe: Probe | None = None,
    reach: Reach | None = None,
) -> str:
    if param.name not in SEARCH_PARAMS or param.modifier is not None:
        if probe is not None and resource_type is not None:
            found = _probed_condition(resource_type, param, params, now, probe, reach)
            if found is not None:
                return found
        return SearchCompiler(params, now, reach).condition(resource_type, param)
    if param.name == "_id":
        return f"c.id IN ({params.bind_all(param.values)})"
    ors = [last_updated_test(params, "c.last_updated", value, now) for value in param.values]
    return "(" + " OR ".join(ors) + ")"


_LOWER_PREFIXES = ("ge", "gt", "sa")
_UPPER_PREFIXES = ("le", "lt", "eb")


def _bound_side(resource_type: str | None, param: SearchParam) -> str | None:
    """``lower``/``upper`` for a single-valued prefixed date search that bounds one side;
    ``both`` for ``ap`` (an overlap test by itself)."""
    if resource_type is None or param.modifier is not None or len(param.values) != 1:
        return None
    if param.name in SEARCH_PARAMS:  # columns of resource_current, not index rows
        return None
    definition = definitions_for(resource_type).get(param.name)
    if definition is None or definition.type != "date":
        return None
    prefix = param.values[0][:2]
    if prefix in _LOWER_PREFIXES:
        return "lower"
    if prefix == "ap" and param.values[0][2:3].isdigit():
        return "both"
    return "upper" if prefix in _UPPER_PREFIXES else None


def _date_ranges(
    resource_type: str | None, params: tuple[SearchParam, ...]
) -> list[SearchParam | tuple[SearchParam, ...]]:
    """The parameters, with ``date=geX&date=ltY`` pairs of one date parameter joined: a pair
    is one range tested on one index row (one range scan), not two scans intersected; an
    ``ap`` search stands alone as a group of one (an overlap test: ``search_date_window``)."""
    out: list[SearchParam | tuple[SearchParam, ...]] = []
    open_sides: dict[tuple[str, str], int] = {}
    for param in params:
        side = _bound_side(resource_type, param)
        if side == "both":
            out.append((param,))
            continue
        other = (param.name, "upper" if side == "lower" else "lower")
        if side is not None and other in open_sides:
            position = open_sides.pop(other)
            first = out[position]
            assert isinstance(first, SearchParam)
            out[position] = (first, param)
            continue
        if side is not None:
            open_sides.setdefault((param.name, side), len(out))
        out.append(param)
    return out


def _probed_condition(
    resource_type: str,
    param: SearchParam,
    params: SqlParams,
    now: datetime,
    probe: Probe,
    reach: Reach | None,
) -> str | None:
    """``EXISTS`` (a probe per candidate row) for a plain indexed filter whose set is large,
    measured by counting at most :data:`LARGE_SET` of its rows; None: use the set (``IN``)."""
    alone = SqlParams(params.dialect)
    condition = SearchCompiler(alone, now, reach).condition(resource_type, param)
    matched, alias, key = _PLAIN_SET.fullmatch(condition), "s", "s.id"
    if matched is None:
        matched, alias, key = _HAS_SET.fullmatch(condition), "r", "r.target_id"
    if matched is None or " UNION " in matched.group(2):  # negations, compartments
        return None
    table, where = matched.groups()
    source = f"{table} {alias}"
    inner = _HAS_INNER.fullmatch(where) if alias == "r" else None
    if inner is not None and inner.group(1).count("(") != inner.group(1).count(")"):
        inner = None  # the match is inside a nested _has: leave that one a set
    bound = HASHED_SET if _hashes(params) else LARGE_SET
    size = _bounded_size(source, where, alone, inner, probe, bound)
    if size < LARGE_SET:
        return None
    params.values.extend(alone.values)  # the placeholders are positional, in this order
    if size < HASHED_SET and _hashes(params):
        return _hashed(condition, source, where, inner, params)
    return _exists(source, key, where, inner, params)


def _same_row(
    resource_type: str | None,
    group: tuple[SearchParam, ...],
    params: SqlParams,
    now: datetime,
    probe: Probe | None,
    paged: bool = True,
) -> str:
    """A date range (or ``ap``) as one index row's test: a set read through the width-class
    windows; when the set is large (a year of encounters), a per-row probe like any filter.
    For a page on PostgreSQL, a set of :data:`LARGE_SET` rows or more is hashed and the type's
    resources walked in seq order (a week of encounters at 1M: 1,484 matches, ~7,300 tested
    against the hash instead of 1,484 primary-key lookups before the sort); a total keeps the
    set (it would walk the whole type)."""
    if probe is not None:
        alone = SqlParams(params.dialect)
        windows = SearchCompiler(alone, now).same_row(resource_type, group)
        union = windows.removeprefix("c.id IN (").removesuffix(")")
        bounded = f"SELECT count(*) FROM ({union} LIMIT {LARGE_WINDOW}) t"
        size = probe(Statement(bounded, list(alone.values)))
        if paged and _hashes(params) and LARGE_SET <= size < LARGE_WINDOW:
            params.values.extend(alone.values)
            return f"({windows}) IS TRUE"
        if size >= LARGE_WINDOW:
            plain = SqlParams(params.dialect)
            matched = _PLAIN_SET.fullmatch(
                SearchCompiler(plain, now).same_row(resource_type, group, window=False)
            )
            assert matched is not None  # same_row without windows is one plain set
            table, where = matched.groups()
            params.values.extend(plain.values)
            return _exists(f"{table} s", "s.id", where, None, params)
    return SearchCompiler(params, now).same_row(resource_type, group)


def _exists(
    source: str, key: str, where: str, inner: re.Match[str] | None, params: SqlParams
) -> str:
    """The per-candidate probe of a large set (its values already bound, in text order)."""
    alias = source.rsplit(" ", 1)[1]
    postgres = params.dialect.name == "postgresql"
    # PostgreSQL flattens an EXISTS into a semi-join and, misled by its estimates (121 rows
    # estimated, 5,988 found for a common condition code at 1M), hashes the whole set before
    # the page; an OFFSET keeps the subquery a per-row probe (we counted: the set is large).
    keep = " OFFSET 0" if postgres else ""
    if inner is not None:  # the referencing row's own filter, probed per row too
        head, inner_table, inner_where = inner.groups()
        inner_where = _by_resource(inner_where, "s")
        probe_inner = f"SELECT 1 FROM {inner_table} s WHERE s.id = r.id AND {inner_where}{keep}"
        where = f"{head} AND EXISTS ({probe_inner})"
    else:
        where = _by_resource(where, alias)
    return f"EXISTS (SELECT 1 FROM {source} WHERE {key} = c.id AND {where}{keep})"


def _hashed(
    condition: str, source: str, where: str, inner: re.Match[str] | None, params: SqlParams
) -> str:
    """A set of medium size as a hashed membership test (``IS TRUE`` keeps it a subplan, not
    a join the planner would reorder). ``_has``: the referencing rows are still probed per
    candidate, their own filter (the counted set) is the hash."""
    if inner is None:
        return f"({condition}) IS TRUE"
    head, inner_table, inner_where = inner.groups()
    keep = " OFFSET 0" if params.dialect.name == "postgresql" else ""  # as in _exists
    member = f"(r.id IN (SELECT s.id FROM {inner_table} s WHERE {inner_where})) IS TRUE"
    return f"EXISTS (SELECT 1 FROM {source} WHERE r.target_id = c.id AND {head} AND {member}{keep})"


def _bounded_size(
    source: str,
    where: str,
    bound: SqlParams,
    inner: re.Match[str] | None,
    probe: Probe,
    limit: int,
) -> int:
    """The set's size, counted up to ``limit``. For ``_has`` with a plain inner
    filter, the referencing resources' own filter is counted (a covering range: 0.1 ms
    where counting the references cost 2.5 ms at 1M); each usually holds one reference."""
    values = list(bound.values)
    if inner is not None:  # values are bound in textual order: the head's come first
        head, table, inner_where = inner.groups()
        values = values[head.count(bound.dialect.placeholder) :]
        source, where = f"{table} s", inner_where
    bounded = f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT {limit}) t"
    return probe(Statement(bounded, values))


_SCOPED = re.compile(r"(s\.resource_type = (?:%s|\?) AND s\.param = (?:%s|\?)) AND (.*)", re.DOTALL)


def _by_resource(where: str, alias: str) -> str:
    """A per-row probe reads the candidate's own index rows (``(resource_type, id)``); the
    value tests are made opaque (``IS TRUE``) so the planner does not walk a value index
    instead: on PostgreSQL a name prefix held by 2,835 Patients at 1M was a 2,835-entry range
    scan per candidate (0.3 ms each); on SQLite a chain (``subject:Patient.name``) probed
    ``search_reference_target`` once per target id of the chained set, per candidate (4 s)."""
    scoped = _SCOPED.fullmatch(where) if alias == "s" else None
    return where if scoped is None else f"{scoped.group(1)} AND ({scoped.group(2)}) IS TRUE"


def _filters(
    resource_type: str | None,
    query: SearchQuery,
    params: SqlParams,
    now: datetime,
    probe: Probe | None = None,
    paged: bool = True,
) -> list[str]:
    conditions = ["NOT c.deleted"]
    types = listed_types(query) if resource_type is None else ()
    if resource_type is not None:
        bound = params.bind(resource_type)
        # PostgreSQL: "= ANY" keeps the type out of the planner's constants, so the ORDER BY
        # (type, ...) of _type_first can only come from the (resource_type, seq) index.
        same = f"= ANY(ARRAY[{bound}])" if params.dialect.name == "postgresql" else f"= {bound}"
        conditions.append(f"c.resource_type {same}")
    for item in _date_ranges(resource_type, query.params):
        if isinstance(item, tuple):
            conditions.append(_same_row(resource_type, item, params, now, probe, paged))
            continue
        param = item
        if param.name in NOT_FILTERS:
            continue
        if not param.values:
            raise Invalid(f"search parameter '{param.name}' has no value", expression=param.name)
        if resource_type is None and _per_type(param, types):
            compiler = SearchCompiler(params, now, query.reach)
            conditions.append(compiler.over_types(types, param))
            continue
        conditions.append(_param_condition(resource_type, param, params, now, probe, query.reach))
    return conditions


def listed_types(query: SearchQuery) -> tuple[str, ...]:
    """The types of a system search's ``_type`` (several; one is searched as a type search)."""
    return tuple(v for p in query.params if p.name == "_type" for v in p.values)


def _per_type(param: SearchParam, types: tuple[str, ...]) -> bool:
    """A system search parameter that is not one of Resource's (``_type=A,B&name=x``):
    compiled once per listed type (``SearchCompiler.over_types``)."""
    head = param.name.partition(".")[0].partition(":")[0]
    # _has names the searched type in its subquery: it too is compiled per listed type
    return bool(types) and (head == "_has" or head not in supported_params(None))


def _keyset_condition(keys: tuple[SortKey, ...], cursor: PageCursor, params: SqlParams) -> str:
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


def _type_first(resource_type: str | None) -> str:
    """For a type search, order by the type first: only the (resource_type, seq) index yields
    that order, so PostgreSQL does not walk the global seq index filtering on type (its cost
    model assumes the types interleave; after a bulk load they come in blocks: 660,000 rows
    passed before the first Observation at 1M resources)."""
    return "" if resource_type is None else "c.resource_type, "


def _order_by(keys: tuple[SortKey, ...], forward: bool) -> str:
    return ", ".join(f"{k.column} {'ASC' if k.ascending == forward else 'DESC'}" for k in keys)


def plan_search(
    dialect: SqlDialect,
    resource_type: str | None,
    query: SearchQuery,
    now: datetime,
    probe: Probe | None = None,
) -> SearchPlan:
    """The statements of one search. ``probe`` (a bounded count, run at once) lets large
    filters be probed per row instead of materialised; without it every filter is a set."""
    if probe is not None:
        probe = _memo(probe)
    count = DEFAULT_COUNT if query.count is None else max(0, min(query.count, MAX_COUNT))
    if query.total not in (None, *TOTAL_MODES):
        raise Invalid(f"_total must be one of {', '.join(TOTAL_MODES)}", expression="_total")
    keys = sort_keys(resource_type, query.sort)
    cursor = decode_cursor(query.cursor, len(keys)) if query.cursor else None
    total = None
    if query.total in ("estimate", "accurate"):
        counted = SqlParams(dialect)
        where = " AND ".join(_filters(resource_type, query, counted, now, probe, paged=False))
        total = Statement(f"SELECT count(*) FROM resource_current c WHERE {where}", counted.values)
    if _index_driven(resource_type, query, keys):
        assert resource_type is not None
        pages = _index_driven_pages(dialect, resource_type, keys, cursor, count)
        return SearchPlan(pages[0], total, keys, count, cursor, pages[1:])
    params = SqlParams(dialect)
    # Sort values are selected first: their bound codes come first in the statement.
    selected = "".join(f", {k.expression(params)} AS {k.column}" for k in keys if k.table)
    conditions = _filters(resource_type, query, params, now, probe)
    if cursor is not None:
        conditions.append(_keyset_condition(keys, cursor, params))
    forward = cursor is None or cursor.forward
    # The page is cut before the history join: joined first, PostgreSQL fetched the body of
    # every match before sorting (2,835 bodies for a page of 50 names at 1M resources). The
    # cut reads only columns its indexes cover (type, id, seq, deleted: PostgreSQL migration
    # 0010), so each match costs an index-only lookup, not a heap row of resource_current;
    # version and last_updated come from the page's history rows (the same values).
    aliases = "".join(f", c.{k.column}" for k in keys if k.table)
    updated = ", c.last_updated" if any(k.column == "c.last_updated" for k in keys) else ""
    sql = (
        f"SELECT {PAGE_COLUMNS}{aliases} FROM"
        f" (SELECT c.resource_type, c.id, c.seq{updated}{selected}"
        f" FROM resource_current c WHERE {' AND '.join(conditions)}"
        f" ORDER BY {_type_first(resource_type)}{_order_by(keys, forward)}"
        f" LIMIT {params.bind(count + 1)}) c"
        f" JOIN resource_history h ON h.seq = c.seq ORDER BY {_order_by(keys, forward)}"
    )
    return SearchPlan(Statement(sql, params.values), total, keys, count, cursor)


def _memo(probe: Probe) -> Probe:
    """The page and the total statement ask about the same filters: probe each once."""
    seen: dict[tuple[str, tuple[object, ...]], int] = {}

    def once(statement: Statement) -> int:
        key = (statement.sql, tuple(statement.params))
        if key not in seen:
            seen[key] = probe(statement)
        return seen[key]

    return once


def _index_driven(resource_type: str | None, query: SearchQuery, keys: tuple[SortKey, ...]) -> bool:
    """Whether to read the page in the order of the first sort key's index: for a type-level
    search sorted by an indexed parameter with no filter (a filter usually selects fewer
    rows than the type holds, and then sorting its matches is cheaper than walking the index)."""
    return (
        resource_type is not None
        and keys[0].table is not None
        and all(p.name in NOT_FILTERS for p in query.params)
    )


def _index_driven_pages(
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
    return float(_MISSING[key.kind]) if key.kind == "number" else ""


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
    column, _ = _SORT_COLUMNS[first.table]
    driven = (replace(first, direct=f"x.{column}"), *keys[1:])
    params = SqlParams(dialect)
    selected = f", x.{column} AS {first.column}" + "".join(
        f", {k.expression(params)} AS {k.column}" for k in keys[1:] if k.table
    )
    better = "<" if first.ascending else ">"
    rid = dialect.row_identity
    conditions = [
        f"x.resource_type = {params.bind(resource_type)}",
        f"x.param = {params.bind(first.param)}",
        f"x.{column} IS NOT NULL",
        f"NOT EXISTS (SELECT 1 FROM search_{first.table} y WHERE y.resource_type = x.resource_type"
        f" AND y.id = x.id AND y.param = x.param AND (y.{column} {better} x.{column}"
        f" OR (y.{column} = x.{column} AND y.{rid} < x.{rid})))",
        "NOT c.deleted",
    ]
    if cursor is not None and not skip_keyset:
        conditions.append(_keyset_condition(driven, cursor, params))
    forward = cursor is None or cursor.forward
    sql = (
        f"SELECT {SELECT_COLUMNS}{selected} FROM search_{first.table} x"
        " JOIN resource_current c ON c.resource_type = x.resource_type AND c.id = x.id"
        " JOIN resource_history h ON h.seq = c.seq"
        f" WHERE {' AND '.join(conditions)} ORDER BY {_order_by(keys, forward)}"
        f" LIMIT {params.bind(count + 1)}"
    )
    return Statement(sql, params.values)


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
    column, kind = _SORT_COLUMNS[first.table]
    params = SqlParams(dialect)
    selected = f", {_MISSING[kind]} AS {first.column}" + "".join(
        f", {k.expression(params)} AS {k.column}" for k in rest if k.table
    )
    conditions = [
        "NOT c.deleted",
        f"c.resource_type = {params.bind(resource_type)}",
        f"NOT EXISTS (SELECT 1 FROM search_{first.table} y WHERE y.resource_type = c.resource_type"
        f" AND y.id = c.id AND y.param = {params.bind(first.param)} AND y.{column} IS NOT NULL)",
    ]
    if cursor is not None:
        tail = PageCursor(cursor.values[1:], cursor.forward)
        conditions.append(_keyset_condition(rest, tail, params))
    forward = cursor is None or cursor.forward
    sql = (
        f"SELECT {SELECT_COLUMNS}{selected}"
        " FROM resource_current c JOIN resource_history h ON h.seq = c.seq"
        f" WHERE {' AND '.join(conditions)}"
        f" ORDER BY {_type_first(resource_type)}{_order_by(rest, forward)}"
        f" LIMIT {params.bind(count + 1)}"
    )
    return Statement(sql, params.values)
