"""The plain evaluator of an expression: a plain path walked over the JSON (see
:mod:`yteso.fhirpath.plain_paths`), its comparison with a number or date literal, and ``and`` /
``or`` of those. The engine tries it first and falls back to the evaluator on None.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from yteso.fhirpath import model
from yteso.fhirpath.equality import compare
from yteso.fhirpath.errors import FhirPathError
from yteso.fhirpath.nodes import Binary, DateTimeLiteral, Expression, NumberLiteral
from yteso.fhirpath.operators import LOGIC
from yteso.fhirpath.plain_paths import PlainPath, one_step, plain_path
from yteso.fhirpath.plain_walks import PlainEvaluator, resource_count, walker
from yteso.fhirpath.temporal import parse_literal
from yteso.fhirpath.values import Node

_NUMBER_TYPES = frozenset(
    name
    for name, system in model.PRIMITIVE_SYSTEM_TYPES.items()
    if system in ("Integer", "Decimal")
)
_ORDER_TESTS: dict[str, Callable[[int], bool]] = {
    "<": lambda order: order < 0,
    "<=": lambda order: order <= 0,
    ">": lambda order: order > 0,
    ">=": lambda order: order >= 0,
}


def plain_evaluator(tree: Expression) -> PlainEvaluator | None:
    """A JSON-walking evaluator for paths, their comparisons with a literal, and and/or of
    those; None when the expression has another shape. The evaluator itself returns None
    whenever the data calls for the full engine."""
    whole = plain_path(tree)
    if whole is not None:
        step = one_step(whole)
        if step is not None:
            return _one_step(*step)
        return resource_count(whole) or walker(whole)
    if isinstance(tree, Binary) and tree.operator in ("and", "or"):
        left, right = plain_evaluator(tree.left), plain_evaluator(tree.right)
        if left is None or right is None:
            return None
        return _logic(left, right, LOGIC[tree.operator], tree.operator == "or")
    if isinstance(tree, Binary) and tree.operator in _ORDER_TESTS:
        path = plain_path(tree.left)
        constant = _constant(tree.right)
        if path is None or path.terminal is not None or constant is None:
            return None
        return _comparison(path, constant, _ORDER_TESTS[tree.operator])
    return None


def _one_step(root: str, name: str, shadow: str) -> PlainEvaluator:
    """``Patient.birthDate``, ``Observation.subject``: most search parameters look like this."""

    def one_step(resource: dict[str, Any]) -> list[Any] | None:
        if resource.get("resourceType") != root or shadow in resource:
            return None
        value = resource.get(name)
        if value is None:
            return []
        if type(value) is list:
            return [item for item in value if item is not None]
        return [value]

    return one_step


def _constant(tree: Expression) -> Any:
    if isinstance(tree, NumberLiteral):
        return tree.value
    if isinstance(tree, DateTimeLiteral):
        return parse_literal(tree.text)
    return None


def _logic(
    left: PlainEvaluator,
    right: PlainEvaluator,
    operator: Callable[[list[Any], list[Any]], list[Any]],
    deciding: bool,
) -> PlainEvaluator:
    decided = [deciding]  # ``true or x`` / ``false and x``: the left side decides

    def logic(resource: dict[str, Any]) -> list[Any] | None:
        a = left(resource)
        if a is None:
            return None
        if len(a) == 1 and a[0] is deciding:
            return decided
        b = right(resource)
        return None if b is None else operator(a, b)

    return logic


def _comparison(path: PlainPath, constant: Any, test: Callable[[int], bool]) -> PlainEvaluator:
    leaf_type, walk = path.leaf_type, walker(path)
    # a number element against a number literal: Python compares int, float and Decimal exactly
    numeric = leaf_type in _NUMBER_TYPES and type(constant) in (int, Decimal)

    def comparison(resource: dict[str, Any]) -> list[Any] | None:
        values = walk(resource)
        if not values:
            return values  # None (fall back) or [] (empty compares to empty)
        if len(values) > 1:
            return None  # the engine raises the proper error
        value = values[0]
        if numeric and type(value) in (int, float, Decimal):
            return [test((value > constant) - (value < constant))]
        try:
            order = compare(Node(values[0], leaf_type), constant)
        except FhirPathError:
            return None
        return [] if order is None else [test(order)]

    return comparison
