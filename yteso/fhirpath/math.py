"""Math functions: abs, ceiling, exp, floor, ln, log, power, round, sqrt, truncate.

https://hl7.org/fhirpath/N1/#math. Transcendental functions go through ``float`` (as every
engine does) and come back as Decimal; ``(-1).sqrt()`` and the like are empty.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from yteso.fhirpath.context import Collection, Environment, integer_argument, single_value
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.quantity import Quantity
from yteso.fhirpath.registry import function


def _number_input(items: Collection, name: str) -> int | Decimal | None:
    value = single_value(items, f"{name}()")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise FhirPathEvaluationError(f"{name}() applies to a number")
    return value


def _float_result(result: float) -> list[Any]:
    if pymath.isnan(result) or pymath.isinf(result):
        return []
    return [Decimal(repr(result))]


def _transcendental(name: str, body: Callable[[float], float]) -> None:
    def implementation(items: Collection, env: Environment) -> Collection:
        value = _number_input(items, name)
        if value is None:
            return []
        try:
            return _float_result(body(float(value)))
        except (ValueError, OverflowError):
            return []

    function(name)(implementation)


_transcendental("exp", pymath.exp)
_transcendental("ln", pymath.log)


@function("sqrt")
def sqrt(items: Collection, env: Environment) -> Collection:
    value = _number_input(items, "sqrt")
    if value is None or value < 0:
        return []
    return _float_result(pymath.sqrt(float(value)))


@function("abs")
def abs_(items: Collection, env: Environment) -> Collection:
    value = single_value(items, "abs()")
    if isinstance(value, Quantity):
        return [Quantity(abs(value.value), value.unit)]
    number = _number_input(items, "abs")
    return [] if number is None else [abs(number)]


def _integral(name: str, rounding: str | None) -> None:
    def implementation(items: Collection, env: Environment) -> Collection:
        value = _number_input(items, name)
        if value is None:
            return []
        if isinstance(value, int):
            return [value]
        if rounding is None:
            return [int(value)]
        return [int(value.to_integral_value(rounding=rounding))]

    function(name)(implementation)


_integral("ceiling", ROUND_CEILING)
_integral("floor", ROUND_FLOOR)
_integral("truncate", None)


@function("round", "v", required=0)
def round_(items: Collection, env: Environment, precision: Collection | None = None) -> Collection:
    value = _number_input(items, "round")
    digits = integer_argument(precision or [], "round()") or 0
    if value is None:
        return []
    if digits < 0:
        raise FhirPathEvaluationError("round() precision must not be negative")
    return [Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)]


@function("log", "v")
def log(items: Collection, env: Environment, base: Collection) -> Collection:
    value, radix = _number_input(items, "log"), _number_input(base, "log")
    if value is None or radix is None:
        return []
    try:
        return _float_result(pymath.log(float(value), float(radix)))
    except (ValueError, ZeroDivisionError):
        return []


@function("power", "v")
def power(items: Collection, env: Environment, exponent: Collection) -> Collection:
    value, raised = _number_input(items, "power"), _number_input(exponent, "power")
    if value is None or raised is None:
        return []
    if isinstance(value, int) and isinstance(raised, int) and raised >= 0:
        return [value**raised]
    try:
        result = float(value) ** float(raised)
    except (OverflowError, ZeroDivisionError):
        return []
    if isinstance(result, complex):
        return []
    return _float_result(result)
