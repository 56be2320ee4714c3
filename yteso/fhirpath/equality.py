"""Equality, equivalence and ordering of FHIRPath items.

https://hl7.org/fhirpath/N1/#equality and https://hl7.org/fhirpath/N1/#comparison. ``=`` is
exact (empty when date precisions differ), ``~`` is lenient (case- and whitespace-insensitive
strings, decimals compared at the precision of the less precise operand, false rather than
empty). ``True == 1`` in Python, so every check looks at types first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from yteso.fhirpath import quantity, temporal
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.quantity import Quantity
from yteso.fhirpath.temporal import Temporal
from yteso.fhirpath.values import Node, to_system

_NUMBER = (int, Decimal)


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER) and not isinstance(value, bool)


def _json_equal(left: Any, right: Any) -> bool:
    if isinstance(left, dict) and isinstance(right, dict):
        keys = set(left) | set(right)
        return all(_json_equal(left.get(k), right.get(k)) for k in keys)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return bool(left == right)


def equals(left: Any, right: Any) -> bool | None:
    """``left = right`` for two single items; None when undetermined."""
    a, b = to_system(left), to_system(right)
    if a is None or b is None:
        return None
    if type(a) is Node or type(b) is Node:
        if type(a) is Node and type(b) is Node:
            return _json_equal(a.data, b.data)
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, Temporal) and isinstance(b, Temporal):
        if (a.kind == temporal.TIME) != (b.kind == temporal.TIME):
            return False
        order = temporal.compare(a, b)
        return None if order is None else order == 0
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        return _quantity_equal(a, b)
    if (isinstance(a, Quantity) and _is_number(b)) or (_is_number(a) and isinstance(b, Quantity)):
        return False
    return False


def _quantity_equal(a: Quantity, b: Quantity) -> bool | None:
    values = quantity.to_common(a, b)
    if values is None:
        return None
    return values[0] == values[1]


def _scale(value: Decimal | int) -> int:
    if isinstance(value, int):
        return 0
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def decimal_equivalent(a: Decimal | int, b: Decimal | int) -> bool:
    scale = min(_scale(a), _scale(b))
    quantum = Decimal(1).scaleb(-scale)
    return Decimal(a).quantize(quantum) == Decimal(b).quantize(quantum)


def _normal_text(text: str) -> str:
    return " ".join(text.lower().split())


def equivalent(left: Any, right: Any) -> bool:
    """``left ~ right`` for two single items."""
    a, b = to_system(left), to_system(right)
    if a is None or b is None:
        return a is None and b is None
    if type(a) is Node or type(b) is Node:
        if type(a) is Node and type(b) is Node:
            return _json_equivalent(a.data, b.data)
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        return decimal_equivalent(a, b)
    if isinstance(a, str) and isinstance(b, str):
        return _normal_text(a) == _normal_text(b)
    if isinstance(a, Temporal) and isinstance(b, Temporal):
        if not temporal.same_precision(a, b) or (a.kind == "Time") != (b.kind == "Time"):
            return False
        return temporal.compare(a, b) == 0
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        values = quantity.to_common(a, b)
        return values is not None and decimal_equivalent(*values)
    return False


def _json_equivalent(left: Any, right: Any) -> bool:
    if isinstance(left, dict) and isinstance(right, dict):
        keys = (set(left) | set(right)) - {"id", "extension"}
        return all(_json_equivalent(left.get(k), right.get(k)) for k in keys)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equivalent, left, right))
    if isinstance(left, str) and isinstance(right, str):
        return _normal_text(left) == _normal_text(right)
    return _json_equal(left, right)


def compare(left: Any, right: Any) -> int | None:
    """-1/0/1 for ``<``-style operators; None when undetermined; raises on mismatched types."""
    if type(left) is Node and type(left.data) is float and left.type == "decimal":
        if type(right) in (int, Decimal):  # floats and Decimals compare exactly in Python
            return int(left.data > right) - int(left.data < right)
    a, b = to_system(left), to_system(right)
    if a is None or b is None:
        return None
    if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
        return int(a > b) - int(a < b)
    if isinstance(a, Temporal) and isinstance(b, Temporal):
        if (a.kind == temporal.TIME) == (b.kind == temporal.TIME):
            return temporal.compare(a, b)
    if isinstance(a, Quantity) and isinstance(b, Quantity):
        values = quantity.to_common(a, b)
        if values is None:
            return None
        return (values[0] > values[1]) - (values[0] < values[1])
    raise FhirPathEvaluationError(f"cannot compare {_describe(a)} with {_describe(b)}")


def _describe(value: Any) -> str:
    if type(value) is Node:
        return f"a {value.type or 'FHIR'} node"
    return type(value).__name__


def collections_equal(left: list[Any], right: list[Any]) -> bool | None:
    if len(left) != len(right):
        return False
    result: bool | None = True
    for a, b in zip(left, right, strict=True):
        same = equals(a, b)
        if same is False:
            return False
        if same is None:
            result = None
    return result


def collections_equivalent(left: list[Any], right: list[Any]) -> bool:
    if len(left) != len(right):
        return False
    remaining = list(right)
    for item in left:
        for index, other in enumerate(remaining):
            if equivalent(item, other):
                del remaining[index]
                break
        else:
            return False
    return True


def contains(collection: list[Any], item: Any) -> bool:
    return any(equals(item, other) for other in collection)


def distinct(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not contains(out, item):
            out.append(item)
    return out
