"""Search parameters whose index rows another parameter of the same type already holds.

https://hl7.org/fhir/R4/searchparameter-registry.html. Many R4 parameters repeat another's
expression on the same type (Patient ``phonetic`` and ``name``: ``Patient.name``; Coverage
``patient`` and ``beneficiary``), and 48 have the form ``X.where(resolve() is T)``, whose rows
are exactly the rows of the parameter with expression ``X`` that name a ``T``
(Observation ``patient``: ``subject``'s rows with ``target_type = 'Patient'``). Storing both
costs every resource the rows twice (a quarter of an Observation's rows), so such a parameter
is not stored: every reader of the index tables asks :func:`row_source` where its rows are.

The rule is derived from the generated official definitions, never a hand-written list:
grouped by (type, parameter type, expression), the first parameter of a group holds the rows
and the others share them; a ``resolve() is T`` reference shares the rows of the group of its
plain path, filtered by target type. A filtered parameter still stores its ``:identifier``
token rows (a logical identifier's row does not say which reference it came from).
Custom SearchParameters never share rows, and an official parameter a custom one replaces
(same code) takes part in no group: both then store their own rows (``yteso reindex``, which
the server starts when a SearchParameter is written, fills them for older resources).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from yteso.fhir.definitions import SearchParameterDefinition, search_parameters
from yteso.fhirpath import FhirPathError, compile
from yteso.fhirpath.printer import to_text
from yteso.fhirpath.root_keys import union_branches
from yteso.store.custom_params import custom_parameters
from yteso.store.param_keys import cached_key

# ``Observation.subject.where(resolve() is Patient)``: the plain path and the target type.
RESOLVE_IS = re.compile(r"([A-Za-z.]+)\.where\(resolve\(\) is ([A-Za-z]+)\)")
# Parameter types stored in index tables (composites store per-component rows of their own;
# ``_id``/``_lastUpdated`` are columns).
_ROW_TYPES = frozenset({"string", "token", "date", "number", "quantity", "reference", "uri"})
_COLUMNS = frozenset({"_id", "_lastUpdated"})
_SUFFIXES = (":identifier", ":of-type")  # companion token rows named after a parameter


@dataclass(frozen=True)
class RowSource:
    """Where the rows of a parameter are: ``param``'s rows (and those of ``also``), only those
    naming a ``target_type`` resource when set (reference rows)."""

    param: str
    target_type: str | None = None
    also: tuple[str, ...] = ()  # a union's other parts (``combo-code``: ``component-code``)

    @property
    def params(self) -> tuple[str, ...]:
        return (self.param, *self.also)


_STATE = {"sharing": True}


@cache
def shared_params(resource_type: str) -> dict[str, RowSource]:
    """The parameters of ``resource_type`` that store no rows of their own, with the rows they
    read instead (an empty dict while sharing is off: :func:`unshared`)."""
    if not _STATE["sharing"]:
        return {}
    custom = custom_parameters(resource_type)
    candidates = {
        code: definition
        for code, definition in search_parameters(resource_type).items()
        if code not in custom and code not in _COLUMNS and definition.type in _ROW_TYPES
    }
    owners: dict[tuple[str, str], str] = {}
    found: dict[str, RowSource] = {}
    for code, definition in candidates.items():
        if definition.expression is None:
            continue
        owner = owners.setdefault((definition.type, definition.expression), code)
        if owner != code:
            found[code] = RowSource(owner)
    for code, definition in candidates.items():
        typed = RESOLVE_IS.fullmatch(definition.expression or "")
        if code in found or typed is None or definition.type != "reference":
            continue
        path, target = typed.groups()
        holder = owners.get(("reference", path))
        if holder is not None and holder != code:
            found[code] = RowSource(holder, target)
    for code, source in list(found.items()):  # a group sharing a filtered parameter's rows
        inner = found.get(source.param)
        if inner is not None:
            target = source.target_type or inner.target_type
            found[code] = RowSource(inner.param, target)
    found.update(_unions(resource_type, candidates, found))
    return found


def _unions(
    resource_type: str,
    candidates: dict[str, SearchParameterDefinition],
    found: dict[str, RowSource],
) -> dict[str, RowSource]:
    """Unions whose branches are exactly the branches of other parameters of the same type
    (Observation ``combo-code`` = ``code | component.code``: ``code``'s rows and
    ``component-code``'s). References are left out (``_include`` and ``_has`` read one
    parameter's rows)."""
    branches: dict[str, tuple[str, ...]] = {}
    for code, definition in candidates.items():
        if definition.expression is None or definition.type == "reference":
            continue
        try:
            tree = compile(definition.expression).tree
        except FhirPathError:
            continue
        branches[code] = tuple(to_text(part) for part in union_branches(tree))
    unions = {}
    for code, parts in branches.items():
        if len(parts) < 2 or code in found or len(set(parts)) != len(parts):
            continue
        kind = candidates[code].type
        holders = [
            other
            for other, theirs in branches.items()
            if other != code
            and other not in found
            and candidates[other].type == kind
            and set(theirs) <= set(parts)
        ]
        holders.sort(key=lambda other: -len(branches[other]))  # the largest parts first
        cover: list[str] = []
        covered: set[str] = set()
        for other in holders:
            if covered.isdisjoint(branches[other]):
                cover.append(other)
                covered.update(branches[other])
        cover.sort(key=lambda other: parts.index(branches[other][0]))  # the union's order
        if covered == set(parts) and len(cover) > 1:
            unions[code] = RowSource(cover[0], None, tuple(cover[1:]))
    return unions


def row_source(resource_type: str | None, name: str, table: str) -> RowSource:
    """The rows that answer ``name`` (a parameter code, or a companion row name such as
    ``subject:identifier``) in index table ``table`` of ``resource_type``."""
    if resource_type is None:
        return RowSource(name)
    shared = shared_params(resource_type)
    if not shared:
        return RowSource(name)
    source = shared.get(name)
    if source is not None:
        if table == "reference" or source.target_type is None:
            return source
        return RowSource(name)  # e.g. a string parameter's rows asked for in another table
    for suffix in _SUFFIXES:
        code = name.removesuffix(suffix)
        if code != name:
            source = shared.get(code)
            if source is not None and source.target_type is None:
                return RowSource(
                    source.param + suffix, None, tuple(p + suffix for p in source.also)
                )
    return RowSource(name)


def rows_test(
    resource_type: str | None, source: RowSource, alias: str, bind: Callable[[object], str]
) -> str:
    """SQL selecting ``source``'s rows of ``resource_type`` in index-table alias ``alias``
    (values bound by ``bind``): ``alias.pkey = ?`` (:mod:`param_keys`: the key implies the type,
    which the caller then need not test, so the value indexes led by ``pkey`` serve it alone),
    ``IN`` for a union, and the target type if filtered. Without a type (a system search):
    ``alias.param = ?``, rows of every type."""
    values: list[object] = list(source.params)
    column = "param"
    if resource_type is not None:
        column, values = "pkey", [cached_key(resource_type, p) for p in source.params]
    if source.also:
        test = f"{alias}.{column} IN ({', '.join(bind(v) for v in values)})"
    else:
        test = f"{alias}.{column} = {bind(values[0])}"
    if source.target_type is not None:
        test += f" AND {alias}.target_type = {bind(source.target_type)}"
    return test


def clear() -> None:
    """Forget the derived groups (custom parameters were registered)."""
    shared_params.cache_clear()


@contextmanager
def unshared() -> Iterator[None]:
    """Every parameter stores and reads its own rows inside the block, as before sharing:
    the reference that differential tests compare the shared rows with."""
    from yteso.store.custom_params import reset_caches

    _STATE["sharing"] = False
    reset_caches()
    try:
        yield
    finally:
        _STATE["sharing"] = True
        reset_caches()
