"""The items of a FHIRPath collection: FHIR nodes and System values.

https://hl7.org/fhirpath/N1/#literals and https://hl7.org/fhir/R4/fhirpath.html#types: System
values are Python ``bool``, ``int``, ``Decimal``, ``str``, :class:`Temporal` and
:class:`Quantity`; everything navigated out of a resource is a :class:`Node` that remembers its
FHIR type, so ``Patient.active.is(boolean)`` holds and ``is(Boolean)`` does not.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from yteso.fhirpath import model
from yteso.fhirpath.quantity import Quantity
from yteso.fhirpath.temporal import Temporal, parse_date, parse_datetime, parse_time

UCUM = "http://unitsofmeasure.org"


class Node:
    """A value inside a resource with its FHIR type (None when the model does not know it).

    ``element`` holds a primitive's JSON ``_name`` companion (its ``id`` and ``extension``).
    """

    __slots__ = ("data", "element", "type")

    def __init__(self, data: Any, type_name: str | None, element: Any = None) -> None:
        self.data = data
        self.type = type_name
        self.element = element

    def __repr__(self) -> str:
        return f"Node({self.data!r}, {self.type!r})"


def resource_node(resource: Any) -> Node:
    type_name = resource.get("resourceType") if isinstance(resource, dict) else None
    return Node(resource, type_name)


def _decimal(data: Any) -> Decimal:
    if isinstance(data, Decimal):
        return data
    if isinstance(data, float):
        return Decimal(repr(data))
    return Decimal(data)


def _primitive(data: Any, system: str) -> Any:
    """A FHIR primitive's JSON value as its System value. Values of the wrong JSON type (which
    the structural validator reports) stay as they are, so operators reject them with a typed
    error instead of crashing."""
    if system == "String":
        return data if isinstance(data, str) else str(data)
    if system in ("Boolean", "Integer"):
        return data
    if system == "Decimal":
        number = isinstance(data, (int, float, Decimal)) and not isinstance(data, bool)
        return _decimal(data) if number else data
    if not isinstance(data, str):
        return data
    if system == "Date":
        return parse_date(data)
    if system == "DateTime":
        return parse_datetime(data)
    return parse_time(data)


def fhir_quantity(data: dict[str, Any]) -> Quantity | None:
    value = data.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    unit = data.get("code") if data.get("system") == UCUM else None
    if not isinstance(unit, str) or not unit:
        unit = data.get("unit")
    return Quantity(_decimal(value), unit if isinstance(unit, str) and unit else "1")


def to_system(item: Any) -> Any:
    """The System value of an item (FHIR primitives and Quantities convert; others stay)."""
    if type(item) is not Node:
        return item
    data = item.data
    if isinstance(data, dict):
        if item.type in model.QUANTITY_TYPES:
            return fhir_quantity(data) or item
        return item
    if data is None:
        return None
    system = model.PRIMITIVE_SYSTEM_TYPES.get(item.type or "")
    if system is not None:
        return _primitive(data, system)
    if isinstance(data, float):
        return _decimal(data)
    return data


def system_type_name(value: Any) -> str | None:
    """The System type of a System value, else None."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, Decimal):
        return "Decimal"
    if isinstance(value, str):
        return "String"
    if isinstance(value, Temporal):
        return value.kind
    if isinstance(value, Quantity):
        return "Quantity"
    return None


def plain(item: Any) -> Any:
    """What the public API returns for an item: JSON data for nodes, System values as is."""
    return item.data if type(item) is Node else item
