"""precision(), lowBoundary(), highBoundary() and comparable() of FHIRPath 2.1.

https://build.fhir.org/ig/HL7/FHIRPath/#precision--integer: the boundaries of a decimal are the
value -/+ half a unit of its last digit, cut (floor/ceiling) to the asked precision (default
8); a negative value mirrors its absolute value. Date/time boundaries fill the missing
components with their least/greatest values and, for an absent offset, +14:00/-12:00.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from yteso.fhirpath import quantity as quantities
from yteso.fhirpath import temporal
from yteso.fhirpath.context import Collection, Environment, integer_argument, single_value
from yteso.fhirpath.quantity import Quantity
from yteso.fhirpath.registry import function
from yteso.fhirpath.temporal import Temporal

MAX_DECIMAL_PRECISION = 28


def _scale(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def decimal_boundary(value: Decimal, digits: int, *, high: bool) -> Decimal | None:
    if not 0 <= digits <= MAX_DECIMAL_PRECISION:
        return None
    if value < 0:
        mirrored = decimal_boundary(-value, digits, high=not high)
        return None if mirrored is None else -mirrored
    half = Decimal(5).scaleb(-(_scale(value) + 1))
    edge = value + half if high else value - half
    rounding = ROUND_CEILING if high else ROUND_FLOOR
    return edge.quantize(Decimal(1).scaleb(-digits), rounding=rounding)


def _boundary(value: Any, digits: int | None, *, high: bool) -> Any:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return decimal_boundary(Decimal(value), 8 if digits is None else digits, high=high)
    if isinstance(value, Quantity):
        edge = decimal_boundary(value.value, 8 if digits is None else digits, high=high)
        return None if edge is None else Quantity(edge, value.unit)
    if isinstance(value, Temporal):
        return temporal.boundary(value, digits, high=high)
    return None


def _boundary_function(name: str, *, high: bool) -> None:
    def implementation(
        items: Collection, env: Environment, precision: Collection | None = None
    ) -> Collection:
        value = single_value(items, f"{name}()")
        digits = integer_argument(precision or [], f"{name}()")
        if value is None:
            return []
        result = _boundary(value, digits, high=high)
        return [] if result is None else [result]

    function(name, "v", required=0)(implementation)


_boundary_function("lowBoundary", high=False)
_boundary_function("highBoundary", high=True)


@function("precision")
def precision(items: Collection, env: Environment) -> Collection:
    value = single_value(items, "precision()")
    if isinstance(value, Decimal):
        return [_scale(value)]
    if isinstance(value, int) and not isinstance(value, bool):
        return [0]
    if isinstance(value, Temporal):
        return [value.precision_digits]
    return []


@function("comparable", "v")
def comparable(items: Collection, env: Environment, other: Collection) -> Collection:
    left, right = single_value(items, "comparable()"), single_value(other, "comparable()")
    if not isinstance(left, Quantity) or not isinstance(right, Quantity):
        return []
    return [quantities.comparable(left, right)]
