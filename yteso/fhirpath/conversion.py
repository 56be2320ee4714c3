"""Conversion functions: iif, toBoolean ... toQuantity and their convertsTo* twins.

https://hl7.org/fhirpath/N1/#conversion
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from yteso.fhirpath import quantity as quantities
from yteso.fhirpath.context import Collection, Environment, Evaluator, single_value, truth, wrap
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.quantity import CALENDAR_WORDS, Quantity
from yteso.fhirpath.registry import function
from yteso.fhirpath.temporal import (
    DATE,
    DATETIME,
    TIME,
    Temporal,
    parse_date,
    parse_datetime,
    parse_time,
)

_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?\d+(?:\.\d+)?")
_QUANTITY = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*(?:'([^']+)'|([a-z]+))?")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})


@function("iif", "eee", required=2)
def iif(
    items: Collection,
    env: Environment,
    criterion: Evaluator,
    when_true: Evaluator,
    when_false: Evaluator | None = None,
) -> Collection:
    if len(items) > 1:
        raise FhirPathEvaluationError("iif() applies to at most one item")
    if truth(criterion(items, env), "iif() criterion") is True:
        return when_true(items, env)
    return when_false(items, env) if when_false is not None else []


def _number(value: Any) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def to_boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if _number(value):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        lowered = value.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else None
    return None


def to_integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return None


def to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return Decimal("1.0") if value else Decimal("0.0")
    if _number(value):
        return Decimal(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return Decimal(value)
    return None


def to_string(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (str, int, Quantity, Temporal)):
        return str(value)
    return None


def to_quantity(value: Any) -> Quantity | None:
    if isinstance(value, Quantity):
        return value
    if isinstance(value, bool):
        return Quantity(Decimal("1.0") if value else Decimal("0.0"), "1")
    if _number(value):
        return Quantity(Decimal(value), "1")
    if isinstance(value, str):
        match = _QUANTITY.fullmatch(value.strip())
        if match is None:
            return None
        number, code, word = match.groups()
        if word is not None and word not in CALENDAR_WORDS:
            return None
        return Quantity(Decimal(number), code or word or "1")
    return None


def to_date(value: Any) -> Temporal | None:
    if isinstance(value, Temporal) and value.kind != TIME:
        return Temporal(DATE, value.parts[:3])
    if isinstance(value, str):
        parsed = parse_date(value) or parse_datetime(value)
        return Temporal(DATE, parsed.parts[:3]) if parsed else None
    return None


def to_datetime(value: Any) -> Temporal | None:
    if isinstance(value, Temporal) and value.kind != TIME:
        return Temporal(DATETIME, value.parts, value.tz)
    if isinstance(value, str):
        return parse_datetime(value)
    return None


def to_time(value: Any) -> Temporal | None:
    if isinstance(value, Temporal) and value.kind == TIME:
        return value
    if isinstance(value, str):
        return parse_time(value)
    return None


def _register(name: str, convert: Callable[[Any], Any]) -> None:
    def to(items: Collection, env: Environment) -> Collection:
        value = single_value(items, f"to{name}()")
        return [] if value is None else wrap(convert(value))

    def converts(items: Collection, env: Environment) -> Collection:
        value = single_value(items, f"convertsTo{name}()")
        return [] if value is None else [convert(value) is not None]

    function("to" + name)(to)
    function("convertsTo" + name)(converts)


for _name, _convert in (
    ("Boolean", to_boolean),
    ("Integer", to_integer),
    ("Decimal", to_decimal),
    ("String", to_string),
    ("Date", to_date),
    ("DateTime", to_datetime),
    ("Time", to_time),
):
    _register(_name, _convert)


def _quantity_in(items: Collection, unit: Collection, name: str) -> Quantity | None:
    value = to_quantity(single_value(items, name))
    target = single_value(unit, name) if unit else None
    if value is None or target is None or target == value.unit:
        return value
    values = quantities.to_common(Quantity(Decimal(1), str(target)), value)
    return None if values is None else Quantity(values[1], str(target))


@function("toQuantity", "v", required=0)
def to_quantity_(items: Collection, env: Environment, unit: Collection | None = None) -> Collection:
    if not items:
        return []
    return wrap(_quantity_in(items, unit or [], "toQuantity()"))


@function("convertsToQuantity", "v", required=0)
def converts_to_quantity(
    items: Collection, env: Environment, unit: Collection | None = None
) -> Collection:
    if not items:
        return []
    return [_quantity_in(items, unit or [], "convertsToQuantity()") is not None]
