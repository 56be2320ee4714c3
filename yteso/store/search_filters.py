"""The WHERE conditions of a search: one per parameter, as a set of ids (``IN``), a hashed
membership test or a per-row probe (``EXISTS``), chosen by counting a bounded part of the set.

https://hl7.org/fhir/R4/search.html — parameters are ANDed, comma-separated values ORed;
``_id``/``_lastUpdated`` test columns of ``resource_current``, every other parameter is a
subquery over its index table (:mod:`search_compiler`).
"""

from __future__ import annotations

import re
from datetime import datetime

from yteso.fhir.errors import Invalid
from yteso.store.base import Reach, SearchParam, SearchQuery
from yteso.store.search_compiler import (
    NOT_FILTERS,
    SearchCompiler,
    definitions_for,
    last_updated_test,
    supported_params,
)
from yteso.store.search_statements import SEARCH_PARAMS, Probe, Statement
from yteso.store.sql_dialect import SqlParams

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


_SCOPED = re.compile(
    r"(s\.pkey (?:= (?:%s|\?)|IN \((?:%s|\?)(?:, (?:%s|\?))*\))) AND (.*)",
    re.DOTALL,
)


def _by_resource(where: str, alias: str) -> str:
    """A per-row probe reads the candidate's own index rows (``(id, resource_type, pkey)``); the
    value tests are made opaque (``IS TRUE``) so the planner does not walk a value index
    instead: on PostgreSQL a name prefix held by 2,835 Patients at 1M was a 2,835-entry range
    scan per candidate (0.3 ms each); on SQLite a chain (``subject:Patient.name``) probed
    ``search_reference_target`` once per target id of the chained set, per candidate (4 s)."""
    scoped = _SCOPED.fullmatch(where) if alias == "s" else None
    return where if scoped is None else f"{scoped.group(1)} AND ({scoped.group(2)}) IS TRUE"


def filters(
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
        # (type, ...) of type_first can only come from the (resource_type, seq) index.
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
