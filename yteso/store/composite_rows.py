"""Composite search parameters indexed per element, so their components pair up exactly.

https://hl7.org/fhir/R4/search.html#composite — a composite parameter's ``expression`` selects
elements (``Observation.component``, ``ValueSet.useContext``...) and each ``component``
expression is evaluated *relative to one such element*: ``component-code-value-quantity=
8480-6$gt100`` must find a component whose code is 8480-6 and whose value is > 100, not a
code on one component and a value on another.

For every element the composite expression selects (its ordinal ``k`` in that result), each
component's values go into the component type's index table under the parameter name
``<code>$<i>`` (``i``: the component's position) with ``element = k``. An element missing a
component is skipped: no search can match it. The search compiler pairs the components by
``(id, element)`` (:mod:`search_compiler`). Component types come from the definition the
component names (``component.definition``), so every R4 composite (``useContext`` of the
conformance resources, Group, MolecularSequence, DocumentReference) is covered, not only
Observation's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from yteso.fhir.definitions import SearchParameterDefinition, search_parameters
from yteso.fhir.types import Json
from yteso.fhirpath import CompiledExpression, Environment, FhirPathError, Node, compile
from yteso.fhirpath.plain_paths import one_step, plain_path
from yteso.fhirpath.printer import to_text
from yteso.fhirpath.root_keys import root_keys, union_branches
from yteso.store.direct_paths import relative_keys
from yteso.store.index_values import IndexRow

Extractor = Callable[[str, list[Any]], Iterator[IndexRow]]
Builder = Callable[[str, list[Any], list[IndexRow]], None]
#: the suffix of an index table name whose rows carry an element ordinal (``token+element``)
ELEMENT: Final = "+element"
COMPONENT_TABLES: Final = ("string", "token", "date", "number", "quantity", "reference", "uri")
# R4 errata: DocumentReference's ``relationship`` names ``relatesto`` (a reference) for the
# ``code`` component and ``relation`` (a token) for ``target``; the expressions decide.
_ERRATA = {
    "http://hl7.org/fhir/SearchParameter/DocumentReference-relationship": ("token", "reference")
}
# R4 composites write ``value.as(DateTime)`` (the System type), which a FHIR ``dateTime`` is
# not: the FHIR type is meant (as the plain ``value-date`` parameter's ``as dateTime`` says).
_SYSTEM_TYPE_NAMES = {"as(DateTime)": "as(dateTime)"}


def _component_text(text: str) -> str:
    for system, fhir in _SYSTEM_TYPE_NAMES.items():
        text = text.replace(system, fhir)
    return text


@dataclass(frozen=True)
class CompositeComponent:
    table: str  # the index table of the component's own type
    param: str  # ``<composite>$<position>``: the rows' parameter name
    expression: CompiledExpression


@dataclass(frozen=True)
class ElementBranch:
    """One operand of the composite's expression (``Observation | Observation.component``):
    ``expression`` None means the resource itself; ``needs``: top-level keys of which the
    resource must hold at least one from each set, or the branch can find nothing."""

    text: str
    expression: CompiledExpression | None
    needs: tuple[frozenset[str], ...]


@dataclass(frozen=True)
class CompiledComposite:
    code: str
    branches: tuple[ElementBranch, ...]
    components: tuple[CompositeComponent, ...]
    # composites whose rows together are this one's (``combo-code-value-quantity`` is
    # ``code-value-quantity`` | ``component-code-value-quantity``): no rows of its own
    union_of: tuple[str, ...] = ()


def component_param(code: str, position: int) -> str:
    return f"{code}${position}"


def component_types(
    definition: SearchParameterDefinition, definitions: dict[str, SearchParameterDefinition]
) -> tuple[str, ...] | None:
    """The index table of each component (None: a component this store cannot index)."""
    if definition.url in _ERRATA:
        return _ERRATA[definition.url]
    by_url = {d.url: d for d in definitions.values()}
    tables = []
    for component in definition.components:
        target = by_url.get(component.definition)
        if target is None or target.type not in COMPONENT_TABLES:
            return None
        tables.append(target.type)
    return tuple(tables) or None


@cache
def composite_params(resource_type: str) -> tuple[CompiledComposite, ...]:
    """The type's composite parameters with their expressions compiled once."""
    definitions = search_parameters(resource_type)
    compiled = []
    shapes: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}  # (elements, parts) -> code
    for code, definition in definitions.items():
        if definition.type != "composite" or definition.expression is None:
            continue
        tables = component_types(definition, definitions)
        if tables is None:
            continue
        texts = [_component_text(part.expression) for part in definition.components]
        components = tuple(
            CompositeComponent(table, component_param(code, i), compile(text))
            for i, (table, text) in enumerate(zip(tables, texts, strict=True))
        )
        branches = _branches(definition.expression, resource_type, texts)
        compiled.append(CompiledComposite(code, branches, components))
        shapes[(definition.expression, tuple(zip(tables, texts, strict=True)))] = code
    return tuple(_with_unions(c, shapes) for c in compiled)


def _with_unions(
    composite: CompiledComposite, shapes: dict[tuple[str, tuple[tuple[str, str], ...]], str]
) -> CompiledComposite:
    """A composite whose every element branch is another composite with the same components
    searches as the union of those (their rows already hold its values: none written twice)."""
    if len(composite.branches) < 2:
        return composite
    parts = tuple((c.table, c.expression.source) for c in composite.components)
    codes = []
    for branch in composite.branches:
        code = shapes.get((branch.text, parts))
        if code is None or code == composite.code:
            return composite
        codes.append(code)
    return CompiledComposite(composite.code, (), composite.components, tuple(codes))


def _branches(
    expression: str, resource_type: str, components: list[str]
) -> tuple[ElementBranch, ...]:
    """The element expression's union operands with the keys each needs: a resource without
    them is skipped cheaply (most Observations carry one kind of value, and few components)."""
    branches = []
    for part in union_branches(compile(expression).tree):
        text = to_text(part)
        if text == resource_type:  # the resource itself: every component must find a key
            found = [
                root_keys(compile(f"{resource_type}.{c}").tree, resource_type) for c in components
            ]
            branches.append(ElementBranch(text, None, tuple(k for k in found if k is not None)))
            continue
        keys = root_keys(part, resource_type)
        branches.append(ElementBranch(text, compile(text), () if keys is None else (keys,)))
    return tuple(branches)


def composite_rows(
    resource: Json, extractors: dict[str, Extractor], present: frozenset[str] | None = None
) -> Iterator[IndexRow]:
    """The general path (every expression through the FHIRPath engine): the reference for
    :func:`fast_composite_rows`."""
    yield from _general_rows(resource, extractors, present, None)


def _general_rows(
    resource: Json,
    extractors: dict[str, Extractor],
    present: frozenset[str] | None,
    only: list[CompiledComposite] | None,
) -> Iterator[IndexRow]:
    """Index rows of every composite parameter of the resource's type, one group per element
    (``(table+element, <code>$<i>, (*values, element))``). ``present``: the resource's keys."""
    resource_type = resource["resourceType"]
    composites = composite_params(resource_type) if only is None else only
    if not composites:
        return
    keys = frozenset(resource) if present is None else present
    root = [Node(resource, resource_type)]
    env = Environment(root)  # %resource: the resource, whatever the element
    for composite in composites:  # (a union_of composite has no branches: no rows)
        ordinal = 0
        for branch in composite.branches:
            if any(needed.isdisjoint(keys) for needed in branch.needs):
                continue
            try:
                elements = (
                    root if branch.expression is None else branch.expression.evaluate_in(root, env)
                )
            except FhirPathError:
                continue
            for element in elements:
                if type(element) is Node:
                    yield from _element_rows(composite, element, ordinal, env, extractors)
                ordinal += 1


def _element_rows(
    composite: CompiledComposite,
    element: Node,
    ordinal: int,
    env: Environment,
    extractors: dict[str, Extractor],
) -> Iterator[IndexRow]:
    groups: list[list[IndexRow]] = []
    for component in composite.components:
        try:
            found = component.expression.evaluate_in([element], env)
        except FhirPathError:
            return
        values = [item.data if type(item) is Node else item for item in found]
        rows = [
            (table + ELEMENT, param, (*row_values, ordinal))
            for table, param, row_values in extractors[component.table](component.param, values)
            if param == component.param  # not the :identifier / :of-type companions
        ]
        if not rows:
            return  # an element without this component can match no composite search
        groups.append(rows)
    for rows in groups:
        yield from rows


# Per composite: per element branch, the JSON key holding the elements and its ``_key`` (None:
# the resource itself, or no one-step path); per component, the keys it can read. None in
# place of the whole: some component needs the engine, which then walks the composite.
_Reader = tuple[tuple[tuple[str, str] | None, ...], tuple[tuple[str, ...], ...]] | None


@cache
def _readers(resource_type: str) -> tuple[_Reader, ...]:
    readers: list[_Reader] = []
    for composite in composite_params(resource_type):
        elements: list[tuple[str, str] | None] = []
        paths = set()
        for branch in composite.branches:
            found = None
            if branch.expression is not None:
                step = one_step(plain_path(branch.expression.tree))
                if step is None or step[0] != resource_type:
                    break
                found = step[1], step[2]
            elements.append(found)
            paths.add(branch.text)
        if len(elements) != len(composite.branches) or len(paths) != 1:
            readers.append(None)
            continue
        path = paths.pop()
        keys = [relative_keys(resource_type, path, c.expression.tree) for c in composite.components]
        usable = [k for k in keys if k is not None]
        fine = len(usable) == len(keys)
        readers.append((tuple(elements), tuple(usable)) if fine else None)
    return tuple(readers)


def fast_composite_rows(
    resource: Json,
    builders: dict[str, Builder],
    extractors: dict[str, Extractor],
    out: list[IndexRow],
    present: frozenset[str] | None,
) -> None:
    """:func:`composite_rows`' rows, appended to ``out``: element lists and components that
    are one JSON key (``Observation.component``, ``code``, ``value.as(Quantity)``) read
    inline, and the appending builders of :mod:`index_builders`; other composites (unions
    of choice types, ``%resource``) through the engine as in :func:`composite_rows`."""
    resource_type = resource["resourceType"]
    keys = frozenset(resource) if present is None else present
    plan = _COMPOSITE_PLANS.get((resource_type, keys))
    if plan is None:
        plan = _composite_plan(resource_type, keys)
    for composite, live in plan:
        if live is None or not _fast_composite(composite, live, resource, builders, out):
            out.extend(_general_rows(resource, extractors, present, [composite]))


# Per (type, top-level key set): the composites with a branch that can find something, each
# with those branches and their element keys (None: through the engine).
_LiveBranch = tuple[tuple[str, str] | None, tuple[tuple[str, ...], ...]]
_CompositePlan = tuple[tuple[CompiledComposite, tuple[_LiveBranch, ...] | None], ...]
_COMPOSITE_PLANS: Final[dict[tuple[str, frozenset[str]], _CompositePlan]] = {}
_MAX_PLANS: Final = 4096


def _composite_plan(resource_type: str, keys: frozenset[str]) -> _CompositePlan:
    plan: list[tuple[CompiledComposite, tuple[_LiveBranch, ...] | None]] = []
    for composite, reader in zip(
        composite_params(resource_type), _readers(resource_type), strict=True
    ):
        live = [
            i
            for i, branch in enumerate(composite.branches)
            if not any(needed.isdisjoint(keys) for needed in branch.needs)
        ]
        if not live:
            continue  # (a union_of composite has no branches: no rows of its own)
        if reader is None:
            plan.append((composite, None))
            continue
        plan.append((composite, tuple((reader[0][i], reader[1]) for i in live)))
    if len(_COMPOSITE_PLANS) >= _MAX_PLANS:
        _COMPOSITE_PLANS.clear()
    found = _COMPOSITE_PLANS[(resource_type, keys)] = tuple(plan)
    return found


def _fast_composite(
    composite: CompiledComposite,
    live: tuple[_LiveBranch, ...],
    resource: Json,
    builders: dict[str, Builder],
    out: list[IndexRow],
) -> bool:
    """Append one composite's rows; False (nothing appended): the engine is needed."""
    start = len(out)
    ordinal = 0
    for element_key, component_keys in live:
        if element_key is None:
            elements: list[Any] = [resource]
        elif element_key[1] in resource:  # the list's extensions: the engine decides
            del out[start:]
            return False
        else:
            value = resource.get(element_key[0])
            if value is None:
                continue
            elements = [v for v in value if v is not None] if type(value) is list else [value]
        for element in elements:
            if type(element) is dict:
                if not _element(composite, element, ordinal, component_keys, builders, out):
                    del out[start:]
                    return False
            ordinal += 1
    return True


def _element(
    composite: CompiledComposite,
    element: dict[str, Any],
    ordinal: int,
    component_keys: tuple[tuple[str, ...], ...],
    builders: dict[str, Builder],
    out: list[IndexRow],
) -> bool:
    start = len(out)
    rows: list[IndexRow] = []
    for component, keys in zip(composite.components, component_keys, strict=True):
        found = _read(element, keys)
        if found is None:  # several keys or a ``_key``: the engine is needed
            del out[start:]
            return False
        rows.clear()
        if found:
            builders[component.table](component.param, found, rows)
        table, param = component.table + ELEMENT, component.param
        before = len(out)
        for _, name, values in rows:
            if name == param:  # not the :identifier / :of-type companions
                out.append((table, param, (*values, ordinal)))
        if len(out) == before:
            del out[start:]  # an element without this component can match no composite search
            return True
    return True


def _read(element: dict[str, Any], keys: tuple[str, ...]) -> list[Any] | None:
    """The component's values when at most one of its keys is present (None: evaluate)."""
    found = None
    for key in keys:
        if key in element:
            if found is not None or "_" + key in element:
                return None
            found = key
        elif "_" + key in element:
            return None  # a primitive's extensions: only the engine's typed nodes carry them
    if found is None:
        return []
    value = element[found]
    if type(value) is list:
        return [v for v in value if v is not None]
    return [value]


def union_of(resource_type: str, code: str) -> tuple[str, ...]:
    """The composites a composite searches as the union of (empty: it has rows of its own)."""
    for composite in composite_params(resource_type):
        if composite.code == code:
            return composite.union_of
    return ()
