"""Search parameter expressions that become one JSON key lookup, given the resource's keys.

https://hl7.org/fhir/R4/json.html#choice: ``Observation.effective``,
``(Observation.value as Quantity)`` and ``Condition.onset.as(dateTime)`` read a choice element,
which the FHIRPath engine resolves through typed nodes (~5 µs each). The extraction plan is
made per set of top-level keys, so it knows which ``effective[x]`` key a resource has: when
exactly one candidate key is present (and none of their ``_key`` extension companions), the
expression's result is that key's value, read inline like a one-step path.
``Resource.meta.tag`` (rooted at a base type, which the engine's path walker does not take)
is compiled again rooted at the concrete type.
"""

from __future__ import annotations

import re

from yteso.fhir import definitions
from yteso.fhirpath import CompiledExpression, compile
from yteso.fhirpath.nodes import Expression, FunctionCall, Identifier, Member, TypeOperation
from yteso.fhirpath.root_keys import choice_keys_of_type, element_keys

SKIP = ("", "")  # no candidate key present: the expression finds nothing
_BASE_ROOT = re.compile(r"(?:Resource|DomainResource)((?:\.[A-Za-z]+)+)")
# ``as T`` read as the key ``nameT`` only for types no other choice type specialises
# (``as Quantity`` also takes an ``Age``; ``as string`` a ``code`` in some models).
_SUBTYPED = frozenset({"string", "uri", "integer", "decimal", "Element"})
_QUANTITIES = ("Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity")


def _uncast(tree: Expression) -> tuple[str | None, Expression] | None:
    """``x as T``, ``x.as(T)``, ``x.ofType(T)`` -> ``(T, x)``; any other tree -> ``(None, tree)``;
    None: a cast the direct readers do not handle (another namespace, a computed type)."""
    if isinstance(tree, TypeOperation) and tree.operator == "as":
        if tree.type.namespace not in (None, "FHIR"):
            return None
        return tree.type.name, tree.operand
    if isinstance(tree, FunctionCall) and tree.name in ("as", "ofType") and tree.source:
        if len(tree.arguments) != 1 or not isinstance(tree.arguments[0], Identifier):
            return None
        return tree.arguments[0].name, tree.source
    return None, tree


def direct_key(
    tree: Expression, resource_type: str, present: frozenset[str]
) -> tuple[str, str] | None:
    """``(key, _key)`` to read, :data:`SKIP` when nothing can be found, None: evaluate."""
    cast = _uncast(tree)
    if cast is None:
        return None
    wanted, tree = cast
    if not isinstance(tree, Member) or not isinstance(tree.source, Identifier):
        return None
    if tree.source.name != resource_type:
        return None
    try:
        candidates = element_keys(resource_type, tree.name)
    except Exception:  # not an element of the type (root_keys._Unknown): the engine decides
        return None
    if wanted is not None:
        if wanted in _SUBTYPED:
            return None
        if wanted == "Quantity" and any(key.endswith(_QUANTITIES) for key in candidates):
            return None  # ``value[x]`` of Observation has no Age: its ``as Quantity`` is one key
        narrowed = choice_keys_of_type(resource_type, tree.name, wanted)
        if len(narrowed) != 2 or candidates == narrowed:
            return None  # not a choice of exactly that type (or no choice at all)
        candidates = narrowed
    if any(key[0] == "_" for key in candidates if key in present):
        return None  # a primitive's extensions: only the engine's typed nodes carry them
    live = [key for key in candidates if key in present]
    if not live:
        return SKIP
    if len(live) > 1:
        return None
    return live[0], "_" + live[0]


def rooted(source: str, resource_type: str) -> CompiledExpression | None:
    """``Resource.meta.tag`` compiled as ``Patient.meta.tag`` (the same result on a Patient)."""
    found = _BASE_ROOT.fullmatch(source)
    return None if found is None else compile(resource_type + found.group(1))


def relative_keys(resource_type: str, path: str, tree: Expression) -> tuple[str, ...] | None:
    """The JSON keys a composite component (``code``, ``value.as(Quantity)``) can read on an
    element at ``path`` (``Observation.component``, or the resource itself): at most one of
    them present, with no ``_key`` companion, is the component's value. None: evaluate."""
    cast = _uncast(tree)
    if cast is None:
        return None
    wanted, tree = cast
    if not isinstance(tree, Identifier) or wanted in _SUBTYPED:
        return None
    owner, base = _element_type(resource_type, path)
    if owner is None:
        return None
    elements = definitions.elements_of(owner)
    choice = elements.get(f"{base}.{tree.name}[x]")
    if choice is None:
        return (tree.name,) if wanted is None and f"{base}.{tree.name}" in elements else None
    keys = [tree.name + kind.code[0].upper() + kind.code[1:] for kind in choice.types]
    if wanted is None:
        return tuple(keys)
    if wanted == "Quantity" and any(key.endswith(_QUANTITIES) for key in keys):
        return None
    narrowed = [key for key in keys if key == tree.name + wanted[0].upper() + wanted[1:]]
    others = [kind.code for kind in choice.types if kind.code != wanted]
    if any(_constrains(code, wanted) for code in others):
        return None  # another choice type is a ``wanted`` too: the engine decides
    return tuple(narrowed)


def _constrains(code: str, wanted: str) -> bool:
    definition = definitions.type_definition(code)
    return definition is not None and definition.type == wanted


def _element_type(resource_type: str, path: str) -> tuple[str | None, str]:
    """(type whose elements hold the path's children, their path prefix)."""
    if path == resource_type:
        return resource_type, resource_type
    found = definitions.element(path)
    if found is None or len(found.types) != 1 or not path.startswith(resource_type + "."):
        return None, ""
    code = found.types[0].code
    if code in ("BackboneElement", "Element"):
        return (
            (resource_type, path) if path in definitions.elements_of(resource_type) else (None, "")
        )
    return code, code
