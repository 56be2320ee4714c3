"""Search index rows, extracted at write time from every R4 SearchParameter expression.

https://hl7.org/fhir/R4/search.html and https://hl7.org/fhir/R4/searchparameter-registry.html.
Each search parameter of the resource's type (``yteso.fhir.definitions.search_parameters``,
no hand-written list) has its FHIRPath expression evaluated against the resource; the values
become rows of one index table per parameter type, as HAPI and Medplum do. Every write path
calls :func:`extract_index_rows` and replaces the resource's rows in the same transaction as
the version. Extraction is CPU-bound and runs in the bulk loader's worker processes.

An ``IndexRow`` is ``(table, param, values)``; ``values`` per table (one table each,
``search_<table>``):

- ``string``: ``(folded, exact)`` — folded is case- and accent-free (:mod:`text_folding`)
- ``token``: ``(system, code, folded display text)``
- ``date``: ``(low, high)`` — the half-open UTC range the value covers, fixed-width ISO text
- ``number``: ``(value,)``
- ``quantity``: ``(system, code, value, canonical code, canonical value)``
- ``reference``: ``(target type, target id, reference text)``
- ``uri``: ``(value,)``
- ``text``: ``(folded text,)`` for ``_text`` (narrative) and ``_content`` (every string)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, Final

from yteso import native
from yteso.fhir.definitions import search_parameters
from yteso.fhir.types import Json
from yteso.fhirpath import CompiledExpression, FhirPathError, Services, compile
from yteso.fhirpath.plain_paths import one_step, plain_path
from yteso.fhirpath.printer import to_text
from yteso.fhirpath.root_keys import root_keys, union_branches
from yteso.store.composite_rows import composite_rows, fast_composite_rows
from yteso.store.custom_params import custom_parameters
from yteso.store.direct_paths import SKIP, direct_key, rooted
from yteso.store.index_builders import BUILDERS, Builder, of_type, reference_identifier_rows
from yteso.store.index_values import (
    IndexRow as IndexRow,
)
from yteso.store.index_values import (
    date_values,
    number_values,
    quantity_values,
    reference_values,
    split_reference,
    string_values,
    token_values,
    uri_values,
)
from yteso.store.shared_rows import RESOLVE_IS, shared_params
from yteso.store.text_folding import FOLDED, fold_parts, fold_table, fold_text

# Columns of resource_current, or special: not extracted into index tables.
COLUMN_PARAMS: Final = frozenset({"_id", "_lastUpdated"})
_TAGS: Final = re.compile(r"<[^>]*>")
# Keys whose strings are machinery rather than content (ids, systems, references).
_NOT_CONTENT: Final = frozenset({"id", "meta", "resourceType", "reference", "system", "url", "div"})
# C twins of fold_content and fold_narrative (yteso/store/_text.c), None unless the compiled
# build is current: content(resource, _FOLD_TABLE, FOLDED, fold_text, fold_content) and
# narrative(div, fold_narrative), each calling the Python twin it is given for what it does
# not handle. Bound once: a module attribute read costs a lookup at every call.
_C_TEXT: Final = native.c_extension("yteso.store._text")
_FOLD_TABLE: Final = b"" if _C_TEXT is None else fold_table()  # ~2 ms, once per process
_C_CONTENT: Final[Callable[..., str | None] | None] = None if _C_TEXT is None else _C_TEXT.content
_C_NARRATIVE: Final[Callable[..., str] | None] = None if _C_TEXT is None else _C_TEXT.narrative


Extractor = Callable[[str, list[Any]], Iterator[IndexRow]]

_EXTRACTORS: Final[dict[str, Extractor]] = {
    "string": string_values,
    "token": token_values,
    "date": date_values,
    "number": number_values,
    "quantity": quantity_values,
    "reference": reference_values,
    "uri": uri_values,
}


@dataclass(frozen=True)
class CompiledParam:
    code: str
    type: str
    expression: CompiledExpression
    resolves: bool  # calls resolve(): needs the stub resolver (and loses the fast path)
    target_type: str | None = None  # ``path.where(resolve() is T)`` evaluated as path + filter
    # top-level JSON keys the expression can read (None: unknown, always evaluate)
    keys: frozenset[str] | None = None
    # a union's branches with their keys: when only one can find anything, run it alone
    branches: tuple[tuple[frozenset[str], CompiledExpression], ...] = ()
    # its reference rows are another parameter's (:mod:`shared_rows`): only the
    # ``:identifier`` token rows are its own
    identifiers_only: bool = False


@cache
def indexed_params(resource_type: str) -> tuple[CompiledParam, ...]:
    """The search parameters of a type whose values live in index tables, compiled once;
    a parameter whose rows another one stores (:mod:`shared_rows`) is left out."""
    compiled = []
    official = search_parameters(resource_type)
    shared = shared_params(resource_type)
    for code, definition in {**official, **custom_parameters(resource_type)}.items():
        if code in COLUMN_PARAMS or definition.expression is None:
            continue
        if definition.type not in _EXTRACTORS:
            continue
        source = shared.get(code)
        if source is not None and source.target_type is None:
            continue  # the same expression as the parameter holding its rows
        expression = definition.expression
        typed = RESOLVE_IS.fullmatch(expression)
        if typed is not None:  # 48 of the 49 resolve() expressions: keep the fast plain path
            path, target = typed.groups()
            plain = compile(path)
            keys = root_keys(plain.tree, resource_type)
            compiled.append(
                CompiledParam(
                    code,
                    definition.type,
                    plain,
                    False,
                    target,
                    keys,
                    identifiers_only=source is not None,
                )
            )
            continue
        resolves = "resolve()" in expression
        full = compile(expression)
        keys = root_keys(full.tree, resource_type)
        branches = () if resolves else _branches(full, resource_type)
        compiled.append(CompiledParam(code, definition.type, full, resolves, None, keys, branches))
    return tuple(compiled)


def _branches(
    full: CompiledExpression, resource_type: str
) -> tuple[tuple[frozenset[str], CompiledExpression], ...]:
    parts = union_branches(full.tree)
    if len(parts) < 2:
        return ()
    branches = []
    for part in parts:
        keys = root_keys(part, resource_type)
        if keys is None:
            return ()
        branches.append((keys, compile(to_text(part))))
    return tuple(branches)


# One parameter to evaluate on a resource with a given set of top-level keys: the parameter,
# and the union branch to try alone when it is the only one whose keys are present.
_Step = tuple[CompiledParam, CompiledExpression | None]
# Plans per (type, key set), each with the ``indexed_params`` tuple it was made from:
# registering custom parameters makes a new tuple, and the stale plans are remade.
_PLANS: Final[
    dict[tuple[str, frozenset[str] | None], tuple[tuple[CompiledParam, ...], tuple[_Step, ...]]]
] = {}
_MAX_PLANS: Final = 4096  # distinct (type, key set) pairs kept; real data repeats a few per type


def _plan(resource_type: str, present: frozenset[str] | None) -> tuple[_Step, ...]:
    """The parameters that can find something given the resource's top-level keys, worked out
    once per (type, key set): resources of a type mostly share their key sets, so the key
    checks of all ~30 parameters of a type run once, not once per resource."""
    params = indexed_params(resource_type)
    entry = _PLANS.get((resource_type, present))
    if entry is not None and entry[0] is params:
        return entry[1]
    steps: list[_Step] = []
    for param in params:
        if present is not None and param.keys is not None and param.keys.isdisjoint(present):
            continue
        single = None
        if present is not None and param.branches:
            live = [branch for keys, branch in param.branches if not keys.isdisjoint(present)]
            single = live[0] if len(live) == 1 else None
        steps.append((param, single))
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[(resource_type, present)] = (params, tuple(steps))
    return tuple(steps)


def _evaluate(param: CompiledParam, single: CompiledExpression | None, resource: Json) -> list[Any]:
    if single is not None:
        found = single(resource)
        if len(found) <= 1:  # a union of at most one item has nothing to de-duplicate
            return found
    return param.expression(resource, services=_SERVICES if param.resolves else None)


def _of_type(found: list[Any], target: str) -> list[Any]:
    """The references among ``found`` whose text names a ``target`` resource."""
    kept = []
    for value in found:
        reference = value.get("reference") if isinstance(value, dict) else None
        if isinstance(reference, str) and split_reference(reference)[0] == target:
            kept.append(value)
    return kept


def _stub_target(reference: str) -> Json | None:
    """``resolve()`` without I/O: the type a reference names is all that ``resolve() is
    Patient`` (``Observation.patient`` and many others) needs."""
    target_type, target_id = split_reference(reference)
    return None if target_type is None else {"resourceType": target_type, "id": target_id}


_SERVICES: Final = Services(resolver=_stub_target)


def extract_index_rows(
    resource: Json, *, skip_absent: bool = True, general: bool = False
) -> list[IndexRow]:
    """Every index row of one resource (an empty list for an unknown type).

    ``skip_absent`` skips parameters whose expression reads none of the resource's top-level
    keys (the rows are the same; ``False`` evaluates everything, for differential tests).
    ``general`` takes the reference path: every expression through the FHIRPath engine and
    the :mod:`index_values` generators (the same rows, slower; for differential tests).
    """
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return []
    rows: list[IndexRow] = []
    present = frozenset(resource) if skip_absent else None
    if general:
        _general_rows(resource, resource_type, present, rows)
        rows.extend(composite_rows(resource, _EXTRACTORS, present))
    else:
        _fast_rows(resource, resource_type, present, rows)
        fast_composite_rows(resource, BUILDERS, _EXTRACTORS, rows, present)
    rows.extend(_text_rows(resource))
    return rows


def _general_rows(
    resource: Json, resource_type: str, present: frozenset[str] | None, rows: list[IndexRow]
) -> None:
    for param, single in _plan(resource_type, present):
        try:
            found = _evaluate(param, single, resource)
        except FhirPathError:
            continue  # a value the expression cannot handle is simply not indexed
        if found and param.target_type is not None:
            found = _of_type(found, param.target_type)
        if found and param.identifiers_only:
            rows.extend(r for r in _EXTRACTORS[param.type](param.code, found) if r[0] == "token")
        elif found:
            rows.extend(_EXTRACTORS[param.type](param.code, found))


def _fast_rows(
    resource: Json, resource_type: str, present: frozenset[str] | None, rows: list[IndexRow]
) -> None:
    """:func:`_general_rows`' rows, with one-step paths (most parameters) read inline, each
    expression evaluated once when several parameters share it (``subject``/``patient``),
    and the appending builders of :mod:`index_builders`."""
    params = indexed_params(resource_type)
    entry = _FAST_PLANS.get((resource_type, present))
    if entry is None or entry[0] is not params:
        entry = _fast_plan(resource_type, present, params)
    shared: list[list[Any] | None] = [None] * entry[2]
    for code, build, key, shadow, evaluate, target, slot in entry[1]:
        if key is not None and shadow not in resource:
            value = resource.get(key)
            if value is None:
                continue
            if type(value) is not list:
                found = [value]
            elif None in value:  # FHIR JSON's null placeholders (``given: [null, "x"]``)
                found = [v for v in value if v is not None]
            else:
                found = value  # builders only read it
        elif slot >= 0 and shared[slot] is not None:
            found = shared[slot]  # type: ignore[assignment]
        else:
            try:
                found = evaluate(resource)
            except FhirPathError:
                continue  # a value the expression cannot handle is simply not indexed
            if slot >= 0:
                shared[slot] = found
        if found and target is not None:
            found = of_type(found, target)
        if found:
            build(code, found, rows)


# A step of a fast plan: (code, builder, key, shadow, evaluate, target type, slot). ``key``:
# the JSON key of a one-step path (``Patient.gender``), read inline unless its ``_key``
# companion ``shadow`` is present; otherwise ``evaluate`` runs, its result kept in ``slot``
# (-1: no other step evaluates the same expression).
_FastStep = tuple[str, Builder, str | None, str, Callable[[Json], list[Any]], str | None, int]
_FastPlan = tuple[tuple[CompiledParam, ...], tuple[_FastStep, ...], int]
_FAST_PLANS: Final[dict[tuple[str, frozenset[str] | None], _FastPlan]] = {}


def _fast_plan(
    resource_type: str, present: frozenset[str] | None, params: tuple[CompiledParam, ...]
) -> _FastPlan:
    steps = _plan(resource_type, present)
    sources = [
        (param.expression.source, None if single is None else single.source)
        for param, single in steps
    ]
    slots: dict[tuple[str, str | None], int] = {}
    for source in sources:
        if sources.count(source) > 1 and source not in slots:
            slots[source] = len(slots)
    fast: list[_FastStep] = []
    for (param, single), source in zip(steps, sources, strict=True):
        step = _direct(param, single, resource_type, present)
        if step == SKIP:
            continue
        key, shadow = step if step is not None else (None, "")
        evaluate: Callable[[Json], list[Any]] = partial(_evaluate, param, single)
        plain = single is None and not param.resolves
        again = rooted(source[0], resource_type) if plain else None
        if again is not None:
            evaluate = again
        build = reference_identifier_rows if param.identifiers_only else BUILDERS[param.type]
        fast.append(
            (param.code, build, key, shadow, evaluate, param.target_type, slots.get(source, -1))
        )
    if len(_FAST_PLANS) >= _MAX_PLANS:
        _FAST_PLANS.clear()
    plan = _FAST_PLANS[(resource_type, present)] = (params, tuple(fast), len(slots))
    return plan


def _direct(
    param: CompiledParam,
    single: CompiledExpression | None,
    resource_type: str,
    present: frozenset[str] | None,
) -> tuple[str, str] | None:
    """(key, ``_key``) to read inline, :data:`SKIP`, or None: evaluate the expression."""
    if param.resolves:
        return None
    expression = param.expression if single is None else single
    if present is not None:
        return direct_key(expression.tree, resource_type, present)
    found = one_step(plain_path(expression.tree)) if single is None else None
    if found is None or found[0] != resource_type:
        return None
    return found[1], found[2]


def _text_rows(resource: Json) -> Iterator[IndexRow]:
    narrative = resource.get("text")
    if isinstance(narrative, dict) and isinstance(narrative.get("div"), str):
        div = narrative["div"]
        text = fold_narrative(div) if _C_NARRATIVE is None else _C_NARRATIVE(div, fold_narrative)
        yield ("text", "_text", (text,))
    if _C_CONTENT is None:
        content = fold_content(resource)
    else:
        content = _C_CONTENT(resource, _FOLD_TABLE, FOLDED, fold_text, fold_content)
    if content is not None:
        yield ("text", "_content", (content,))


def fold_narrative(div: str) -> str:
    """``_text``: the narrative's text folded, its tags read as spaces. The reference for its
    C twin (``_text.narrative``)."""
    return fold_text(_TAGS.sub(" ", div))


def fold_content(resource: object) -> str | None:
    """``_content``: every string of the resource but machinery and narrative, folded and
    joined by spaces; None when it holds no string. The reference for its C twin
    (``_text.content``), which does the walk and the fold in one pass."""
    strings: list[str] = []
    _collect_strings(resource, strings)
    if not strings:
        return None
    # folding the joined text equals joining the folded strings (tested): folding works
    # character by character and collapses whitespace runs
    return fold_parts(strings)


def _collect_strings(value: object, out: list[str]) -> None:
    """Every string of ``value`` in document order, except under machinery keys and the
    narrative. Leaves are handled in the loop rather than by a call each (most of the ~60
    values of a resource are strings): a third of the cost of the plain recursion."""
    kind = type(value)
    if kind is dict:
        _collect_object(value, out)  # type: ignore[arg-type]
    elif kind is list:
        _collect_array(value, out)  # type: ignore[arg-type]
    elif isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict | list):  # subclasses: not from the JSON parser, but correct
        _collect_strings(dict(value) if isinstance(value, dict) else list(value), out)


def _collect_object(value: dict[str, object], out: list[str]) -> None:
    if "div" in value:
        return  # the narrative: indexed as _text
    for key, item in value.items():
        if key in _NOT_CONTENT:
            continue
        kind = type(item)
        if kind is str:
            out.append(item)  # type: ignore[arg-type]
        elif kind is dict:
            _collect_object(item, out)  # type: ignore[arg-type]
        elif kind is list:
            _collect_array(item, out)  # type: ignore[arg-type]
        elif kind is not bool and kind is not int and kind is not float:
            _collect_strings(item, out)


def _collect_array(value: list[object], out: list[str]) -> None:
    for item in value:
        kind = type(item)
        if kind is str:
            out.append(item)  # type: ignore[arg-type]
        elif kind is dict:
            _collect_object(item, out)  # type: ignore[arg-type]
        elif kind is not bool and kind is not int and kind is not float:
            _collect_strings(item, out)
