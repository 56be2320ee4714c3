"""Static analysis: which top-level JSON keys of a resource an expression can read.

https://hl7.org/fhirpath/N1/#path-selection and https://hl7.org/fhir/R4/json.html#choice:
``Observation.value.ofType(Quantity) | Observation.component.value`` can only find something
when ``valueQuantity``, ``valueString``, ... (or their ``_`` extension companions) or
``component`` is present, so the search indexer skips it for resources without those keys.
Only paths whose every step maps empty input to empty output qualify; any other root
(``%resource``, ``descendants()``, an operator other than ``|``) gives ``None``: always evaluate.
"""

from __future__ import annotations

from functools import cache

from yteso.fhir import definitions
from yteso.fhirpath.nodes import (
    Binary,
    Expression,
    FunctionCall,
    Identifier,
    Indexer,
    Member,
    TypeOperation,
)

# Functions whose result is empty whenever their input collection is empty.
_EMPTY_IN_EMPTY_OUT = frozenset(
    {
        "as",
        "extension",
        "first",
        "last",
        "ofType",
        "resolve",
        "select",
        "single",
        "skip",
        "tail",
        "take",
        "where",
    }
)
_BASE_TYPES = frozenset({"Resource", "DomainResource"})


class _Unknown(Exception):
    """The expression is not a plain union of paths into the resource."""


def root_keys(tree: Expression, resource_type: str) -> frozenset[str] | None:
    """The JSON keys of a ``resource_type`` resource that ``tree`` can read, or ``None`` when
    the expression may yield something whatever keys are present."""
    try:
        return frozenset(_branch_keys(tree, resource_type))
    except _Unknown:
        return None


def union_branches(tree: Expression) -> list[Expression]:
    """The operands of a top-level ``a | b | c`` (the tree itself when it is no union)."""
    if isinstance(tree, Binary) and tree.operator == "|":
        return union_branches(tree.left) + union_branches(tree.right)
    return [tree]


def _branch_keys(node: Expression, resource_type: str) -> set[str]:
    if isinstance(node, Binary) and node.operator == "|":
        return _branch_keys(node.left, resource_type) | _branch_keys(node.right, resource_type)
    chain = _chain(node)  # innermost first: the root Identifier, then each step
    root = chain[0]
    if not isinstance(root, Identifier):
        raise _Unknown
    if root.name != resource_type and root.name not in _BASE_TYPES:
        if definitions.is_resource_type(root.name):
            return set()  # a path from another resource type: empty on this one
        chain = [root, *chain]  # a bare element name is the first step itself
    if len(chain) < 2:
        raise _Unknown
    first = _step_name(chain[1])
    keys = element_keys(resource_type, first)
    narrowed = _narrowing_type(chain[2]) if len(chain) > 2 else None
    if narrowed is not None:
        keys = choice_keys_of_type(resource_type, first, narrowed) or keys
    return set(keys)


def _chain(node: Expression) -> list[Expression]:
    """The path's nodes from its root to ``node``; raises for steps that may turn empty input
    into something (``exists()``, ``%resource``, operators)."""
    chain = [node]
    while not isinstance(node, Identifier):
        if isinstance(node, Member | Indexer):
            node = node.source
        elif isinstance(node, TypeOperation) and node.operator == "as":
            node = node.operand
        elif isinstance(node, FunctionCall) and node.name in _EMPTY_IN_EMPTY_OUT and node.source:
            node = node.source
        else:
            raise _Unknown
        chain.append(node)
    chain.reverse()
    return chain


def _step_name(step: Expression) -> str:
    if isinstance(step, Identifier | Member):
        return step.name
    if isinstance(step, FunctionCall) and step.name == "extension":
        return "extension"
    raise _Unknown


def _narrowing_type(step: Expression) -> str | None:
    """``T`` of ``x as T``, ``x.as(T)``, ``x.ofType(T)`` (an unqualified type name)."""
    if isinstance(step, TypeOperation) and step.type.namespace in (None, "FHIR"):
        return step.type.name
    if isinstance(step, FunctionCall) and step.name in ("as", "ofType") and step.arguments:
        argument = step.arguments[0]
        if isinstance(argument, Identifier):
            return argument.name
    return None


@cache
def element_keys(resource_type: str, name: str) -> tuple[str, ...]:
    """``value`` -> ``valueQuantity``, ``_valueQuantity``, ...; ``code`` -> ``code``, ``_code``."""
    elements = definitions.elements_of(resource_type)
    choice = elements.get(f"{resource_type}.{name}[x]")
    if choice is not None:
        names = [name + kind.code[0].upper() + kind.code[1:] for kind in choice.types]
    elif f"{resource_type}.{name}" in elements:
        names = [name]
    else:
        raise _Unknown
    return tuple(names + ["_" + key for key in names])


@cache
def choice_keys_of_type(resource_type: str, name: str, type_name: str) -> tuple[str, ...]:
    """The keys of choice element ``name`` whose type is ``type_name`` or constrains it
    (``Age`` is a ``Quantity``); empty when ``name`` is no choice or none matches."""
    choice = definitions.elements_of(resource_type).get(f"{resource_type}.{name}[x]")
    if choice is None:
        return ()
    names = []
    for kind in choice.types:
        definition = definitions.type_definition(kind.code)
        if kind.code == type_name or (definition is not None and definition.type == type_name):
            names.append(name + kind.code[0].upper() + kind.code[1:])
    return tuple(names + ["_" + key for key in names])
