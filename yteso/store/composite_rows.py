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
from typing import Any

from yteso.fhir.definitions import SearchParameterDefinition, search_parameters
from yteso.fhir.types import Json
from yteso.fhirpath import CompiledExpression, Environment, FhirPathError, Node, compile
from yteso.store.index_values import IndexRow

Extractor = Callable[[str, list[Any]], Iterator[IndexRow]]
#: the suffix of an index table name whose rows carry an element ordinal (``token+element``)
ELEMENT = "+element"
COMPONENT_TABLES = ("string", "token", "date", "number", "quantity", "reference", "uri")
# R4 errata: DocumentReference's ``relationship`` names ``relatesto`` (a reference) for the
# ``code`` component and ``relation`` (a token) for ``target``; the expressions decide.
_ERRATA = {
    "http://hl7.org/fhir/SearchParameter/DocumentReference-relationship": ("token", "reference")
}
# R4 composites write ``value.as(DateTime)`` (the System type), which a FHIR ``dateTime`` is
# not: the FHIR type is meant (as the plain ``value-date`` parameter's ``as dateTime`` says).
_SYSTEM_TYPE_NAMES = {"as(DateTime)": "as(dateTime)"}


def _component_expression(text: str) -> CompiledExpression:
    for system, fhir in _SYSTEM_TYPE_NAMES.items():
        text = text.replace(system, fhir)
    return compile(text)


@dataclass(frozen=True)
class CompositeComponent:
    table: str  # the index table of the component's own type
    param: str  # ``<composite>$<position>``: the rows' parameter name
    expression: CompiledExpression


@dataclass(frozen=True)
class CompiledComposite:
    code: str
    elements: CompiledExpression
    components: tuple[CompositeComponent, ...]


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
    for code, definition in definitions.items():
        if definition.type != "composite" or definition.expression is None:
            continue
        tables = component_types(definition, definitions)
        if tables is None:
            continue
        components = tuple(
            CompositeComponent(
                table, component_param(code, i), _component_expression(part.expression)
            )
            for i, (table, part) in enumerate(zip(tables, definition.components, strict=True))
        )
        compiled.append(CompiledComposite(code, compile(definition.expression), components))
    return tuple(compiled)


def composite_rows(resource: Json, extractors: dict[str, Extractor]) -> Iterator[IndexRow]:
    """Index rows of every composite parameter of the resource's type, one group per element
    (``(table+element, <code>$<i>, (*values, element))``)."""
    composites = composite_params(str(resource["resourceType"]))
    if not composites:
        return
    root = [Node(resource, resource["resourceType"])]
    for composite in composites:
        try:
            elements = composite.elements.evaluate_items(resource)
        except FhirPathError:
            continue
        for ordinal, element in enumerate(elements):
            if type(element) is Node:
                yield from _element_rows(composite, element, ordinal, root, extractors)


def _element_rows(
    composite: CompiledComposite,
    element: Node,
    ordinal: int,
    root: list[Any],
    extractors: dict[str, Extractor],
) -> Iterator[IndexRow]:
    env = Environment(root, context=[element])  # %resource: the resource, not the element
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
