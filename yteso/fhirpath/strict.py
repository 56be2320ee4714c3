"""Strict mode: check an expression against the R4 model before running it.

https://hl7.org/fhirpath/N1/#type-safety-and-strict-evaluation: in strict mode a path naming an
element the type does not have, a type name that cannot be the context, an ordered function
(``first``, ``skip``, ``[]``...) on an unordered collection (``children()``), or a non-Boolean
``iif`` criterion is an error before any data is looked at. Where the static type is unknown
(``resolve()``, user variables) nothing is claimed.
"""

from __future__ import annotations

from dataclasses import dataclass

from yteso.fhirpath import model, nodes
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.registry import lookup

_ORDERED = frozenset({"first", "last", "tail", "skip", "take", "single"})
_UNORDERED_SOURCES = frozenset({"children", "descendants"})
_SAME_SHAPE = frozenset({"where", "trace", "distinct", "intersect", "exclude", "union"})
_SAME_SHAPE |= _ORDERED
_LITERAL_TYPES = {
    nodes.BooleanLiteral: "System.Boolean",
    nodes.StringLiteral: "System.String",
    nodes.DateTimeLiteral: "System.DateTime",
    nodes.QuantityLiteral: "System.Quantity",
}


@dataclass(frozen=True, slots=True)
class Shape:
    types: frozenset[str] | None  # None: statically unknown
    ordered: bool = True


UNKNOWN = Shape(None)


def check(tree: nodes.Expression, context_type: str | None) -> None:
    """Raise FhirPathEvaluationError if the expression cannot be valid on ``context_type``."""
    root = Shape(frozenset({context_type})) if context_type else UNKNOWN
    _infer(tree, root)


def _infer(node: nodes.Expression, focus: Shape) -> Shape:
    if type(node) in _LITERAL_TYPES:
        return Shape(frozenset({_LITERAL_TYPES[type(node)]}))
    if isinstance(node, nodes.Identifier):
        return _identifier(node.name, focus)
    if isinstance(node, nodes.Member):
        return _member(_infer(node.source, focus), node.name)
    if isinstance(node, nodes.FunctionCall):
        return _function(node, focus)
    if isinstance(node, nodes.Indexer):
        source = _infer(node.source, focus)
        _require_ordered(source, "[]")
        return Shape(source.types)
    if isinstance(node, nodes.TypeOperation):
        _infer(node.operand, focus)
        if node.operator == "as":
            return Shape(frozenset({node.type.name}))
        return Shape(frozenset({"System.Boolean"}))
    if isinstance(node, nodes.Binary):
        _infer(node.left, focus)
        _infer(node.right, focus)
    elif isinstance(node, nodes.Unary):
        _infer(node.operand, focus)
    return UNKNOWN


def _identifier(name: str, focus: Shape) -> Shape:
    if focus.types is None or not (name[:1].isupper() and model.is_known_type(name)):
        return _member(focus, name)
    if any(model.is_subtype(t, name) for t in focus.types):
        return focus
    shown = ", ".join(sorted(focus.types))
    raise FhirPathEvaluationError(f"{name} cannot be the context here (the context is {shown})")


def _member(source: Shape, name: str) -> Shape:
    if source.types is None:
        return UNKNOWN
    found: set[str] = set()
    for type_name in source.types:
        if type_name.startswith("System.") or type_name in ("Resource", "DomainResource"):
            return UNKNOWN
        child = model.child(type_name, name)
        if child is not None:  # one alternative of a choice having it is enough
            found |= {child.type} if child.type else set(child.choices.values())
    if not found:
        shown = " | ".join(sorted(source.types))
        raise FhirPathEvaluationError(f"{shown} has no element {name}")
    return Shape(frozenset(found), source.ordered)


def _function(node: nodes.FunctionCall, focus: Shape) -> Shape:
    source = _infer(node.source, focus) if node.source is not None else focus
    name = node.name
    item = Shape(source.types)
    if name in _ORDERED:
        _require_ordered(source, name + "()")
    if name == "iif" and node.arguments:
        criterion = _infer(node.arguments[0], item)
        if criterion.types and all(t.startswith("System.") for t in criterion.types):
            if criterion.types != {"System.Boolean"}:
                raise FhirPathEvaluationError("iif() criterion must be a Boolean")
        return UNKNOWN
    spec = lookup(name)
    kinds = spec.kinds if spec else ""
    arguments = [
        _infer(argument, item if kind in "es" else focus)  # value arguments see the outer $this
        for kind, argument in zip(kinds, node.arguments, strict=False)
        if kind != "t"
    ]
    if name in _UNORDERED_SOURCES:
        return Shape(None, ordered=False)
    if name in ("ofType", "as") and node.arguments:
        target = _type_name(node.arguments[0])
        return Shape(frozenset({target})) if target else UNKNOWN
    if name == "select" and arguments:
        return Shape(arguments[0].types, source.ordered)
    if name == "is":
        return Shape(frozenset({"System.Boolean"}))
    if name in _SAME_SHAPE:
        return source
    return UNKNOWN


def _type_name(node: nodes.Expression) -> str | None:
    if isinstance(node, nodes.Identifier):
        return node.name
    if isinstance(node, nodes.Member):
        return node.name
    return None


def _require_ordered(shape: Shape, what: str) -> None:
    if not shape.ordered:
        raise FhirPathEvaluationError(f"{what} needs an ordered collection")
