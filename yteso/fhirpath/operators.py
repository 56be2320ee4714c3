"""FHIRPath operators on collections: logic, equality, comparison, math, membership.

https://hl7.org/fhirpath/N1/#operations: three-valued boolean logic; ``=`` empty when either
side is empty; ``<``-style operators need single items of one comparable type; arithmetic over
Integer, Decimal, Quantity and date/time + calendar duration; ``&`` treats empty as ``''``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from yteso.fhirpath import quantity as quantities
from yteso.fhirpath import temporal
from yteso.fhirpath.context import Collection, boolean_operand, single_value, string_input
from yteso.fhirpath.equality import (
    collections_equal,
    collections_equivalent,
    compare,
    contains,
    distinct,
)
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.quantity import Quantity
from yteso.fhirpath.temporal import Temporal

TRUE: Collection = [True]
FALSE: Collection = [False]


def _number(value: Any) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def logic_and(left: Collection, right: Collection) -> Collection:
    a, b = boolean_operand(left, "and"), boolean_operand(right, "and")
    if a is False or b is False:
        return [False]
    return [True] if a and b else []


def logic_or(left: Collection, right: Collection) -> Collection:
    a, b = boolean_operand(left, "or"), boolean_operand(right, "or")
    if a is True or b is True:
        return [True]
    return [False] if a is False and b is False else []


def logic_xor(left: Collection, right: Collection) -> Collection:
    a, b = boolean_operand(left, "xor"), boolean_operand(right, "xor")
    return [] if a is None or b is None else [a != b]


def logic_implies(left: Collection, right: Collection) -> Collection:
    a, b = boolean_operand(left, "implies"), boolean_operand(right, "implies")
    if a is False or b is True:
        return [True]
    return [False] if a is True and b is False else []


def equal(left: Collection, right: Collection) -> Collection:
    if not left or not right:
        return []
    result = collections_equal(left, right)
    return [] if result is None else [result]


def not_equal(left: Collection, right: Collection) -> Collection:
    if not left or not right:
        return []
    result = collections_equal(left, right)
    return [] if result is None else [not result]


def equivalent(left: Collection, right: Collection) -> Collection:
    return [collections_equivalent(left, right)]


def not_equivalent(left: Collection, right: Collection) -> Collection:
    return [not collections_equivalent(left, right)]


def _comparison(test: Callable[[int], bool], symbol: str) -> Callable[..., Collection]:
    def operator(left: Collection, right: Collection) -> Collection:
        if not left or not right:
            return []
        if len(left) > 1 or len(right) > 1:
            raise FhirPathEvaluationError(f"operator {symbol} expects single items")
        order = compare(left[0], right[0])
        return [] if order is None else [test(order)]

    return operator


def union(left: Collection, right: Collection) -> Collection:
    return distinct(left + right)


def membership(left: Collection, right: Collection) -> Collection:
    """``left in right``."""
    if not left:
        return []
    if len(left) > 1:
        raise FhirPathEvaluationError("operator in expects a single item on its left")
    return [contains(right, left[0])]


def contains_operator(left: Collection, right: Collection) -> Collection:
    return membership(right, left)


def concatenate(left: Collection, right: Collection) -> Collection:
    a = string_input(left, "operator &") or ""
    b = string_input(right, "operator &") or ""
    return [a + b]


def _arithmetic(symbol: str) -> Callable[[Collection, Collection], Collection]:
    def operator(left: Collection, right: Collection) -> Collection:
        a = single_value(left, f"operator {symbol}")
        b = single_value(right, f"operator {symbol}")
        if a is None or b is None:
            return []
        result = calculate(symbol, a, b)
        return [] if result is None else [result]

    return operator


def calculate(symbol: str, a: Any, b: Any) -> Any:
    """``a symbol b`` for two System values; None when the result is empty (``1 / 0``)."""
    if _number(a) and _number(b):
        return _numbers(symbol, a, b)
    if symbol == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, Temporal) and isinstance(b, Quantity) and symbol in "+-":
        return _shift(a, b, -1 if symbol == "-" else 1)
    if isinstance(a, Quantity) or isinstance(b, Quantity):
        return _quantities(symbol, _as_quantity(a), _as_quantity(b))
    raise FhirPathEvaluationError(f"operator {symbol} cannot combine {a!r} and {b!r}")


def _numbers(symbol: str, a: int | Decimal, b: int | Decimal) -> Any:
    try:
        if symbol == "+":
            return a + b
        if symbol == "-":
            return a - b
        if symbol == "*":
            return a * b
        if symbol == "/":
            return None if b == 0 else Decimal(a) / Decimal(b)
        if b == 0:
            return None
        quotient = Decimal(a) / Decimal(b)
        whole = int(quotient)  # truncates toward zero, as div and mod require
        if symbol == "div":
            return whole if isinstance(a, int) and isinstance(b, int) else Decimal(whole)
        return a - b * whole
    except (InvalidOperation, DivisionByZero):
        return None


def _as_quantity(value: Any) -> Quantity:
    if isinstance(value, Quantity):
        return value
    if _number(value):
        return Quantity(Decimal(value), "1")
    raise FhirPathEvaluationError(f"{value!r} is not a quantity")


def _quantities(symbol: str, a: Quantity, b: Quantity) -> Quantity | None:
    if symbol in ("*", "/"):
        return quantities.multiply(a, b, divide=symbol == "/")
    if symbol in ("+", "-"):
        values = quantities.to_common(a, b)
        if values is None:
            raise FhirPathEvaluationError(f"cannot add {a} and {b}: units differ")
        total = values[0] + values[1] if symbol == "+" else values[0] - values[1]
        return Quantity(total, a.unit)
    raise FhirPathEvaluationError(f"operator {symbol} does not apply to quantities")


def _shift(value: Temporal, amount: Quantity, sign: int) -> Temporal:
    unit = quantities.calendar_unit(amount.unit)
    if unit is None:
        raise FhirPathEvaluationError(f"cannot add {amount} to a date/time")
    if value.kind == temporal.TIME and unit in ("year", "month", "week", "day"):
        raise FhirPathEvaluationError(f"cannot add {amount} to a time")
    return temporal.add(value, sign * int(amount.value), unit)


def negate(items: Collection, symbol: str) -> Collection:
    value = single_value(items, f"unary {symbol}")
    if value is None:
        return []
    if symbol == "+" and (_number(value) or isinstance(value, Quantity)):
        return [value]
    if _number(value):
        result = -value
        return [result.copy_abs() if isinstance(result, Decimal) and result == 0 else result]
    if isinstance(value, Quantity):
        return [Quantity(-value.value, value.unit)]
    raise FhirPathEvaluationError(f"unary {symbol} does not apply to {value!r}")


BINARY: dict[str, Callable[[Collection, Collection], Collection]] = {
    "=": equal,
    "!=": not_equal,
    "~": equivalent,
    "!~": not_equivalent,
    "<": _comparison(lambda order: order < 0, "<"),
    "<=": _comparison(lambda order: order <= 0, "<="),
    ">": _comparison(lambda order: order > 0, ">"),
    ">=": _comparison(lambda order: order >= 0, ">="),
    "|": union,
    "in": membership,
    "contains": contains_operator,
    "&": concatenate,
    **{symbol: _arithmetic(symbol) for symbol in ("+", "-", "*", "/", "div", "mod")},
}
LOGIC: dict[str, Callable[[Collection, Collection], Collection]] = {
    "and": logic_and,
    "or": logic_or,
    "xor": logic_xor,
    "implies": logic_implies,
}
