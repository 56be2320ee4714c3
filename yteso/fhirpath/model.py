"""FHIR R4 model knowledge the evaluator needs: element types, choice types, inheritance.

https://hl7.org/fhir/R4/fhirpath.html#types: FHIR types live in the ``FHIR`` namespace, FHIRPath's
own in ``System``; primitives map to System types (``date`` -> ``System.Date``). Backbone elements
have no type name of their own; we name them by their element path (``Patient.contact``), which
is also how the definitions look their children up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from yteso.fhir import definitions

# FHIR primitive type -> the System type its value converts to.
PRIMITIVE_SYSTEM_TYPES = {
    "boolean": "Boolean",
    "integer": "Integer",
    "unsignedInt": "Integer",
    "positiveInt": "Integer",
    "decimal": "Decimal",
    "date": "Date",
    "dateTime": "DateTime",
    "instant": "DateTime",
    "time": "Time",
    **{
        name: "String"
        for name in (
            "string",
            "code",
            "id",
            "markdown",
            "uri",
            "url",
            "canonical",
            "oid",
            "uuid",
            "base64Binary",
            "xhtml",
        )
    },
}
SYSTEM_TYPES = frozenset(
    {"Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity"}
)
QUANTITY_TYPES = frozenset({"Quantity", "Age", "Distance", "Duration", "Count", "SimpleQuantity"})
QUANTITY_TYPES |= {"MoneyQuantity"}


@dataclass(frozen=True, slots=True)
class Child:
    """What the definitions say about ``<parent type>.<name>``."""

    type: str | None  # FHIR type name or backbone path; None for a choice element
    choices: dict[str, str]  # choice elements: JSON suffix (``Quantity``) -> type code


@cache
def child(parent_type: str, name: str) -> Child | None:
    path = f"{parent_type}.{name}"
    found = definitions.element(path)
    if found is not None and not found.is_choice:
        return Child(_type_of(found), {})
    choice = definitions.element(path + "[x]")
    if choice is not None:
        return Child(None, {_suffix(t.code): t.code for t in choice.types})
    return None


def _suffix(code: str) -> str:
    return code[0].upper() + code[1:]


def _type_of(element: definitions.ElementDefinition) -> str | None:
    if element.content_reference:
        return element.content_reference.lstrip("#")
    if not element.types:
        return None
    code = element.types[0].code
    if code in ("BackboneElement", "Element") and element.path.count(".") >= 1:
        return element.path
    return code


@cache
def choice_key(parent_type: str, key: str) -> tuple[str, str] | None:
    """For a JSON key such as ``valueQuantity``: the element name and the type, if a choice."""
    for index in range(len(key) - 1, 0, -1):
        if key[index].isupper():
            found = child(parent_type, key[:index])
            if found is not None and found.type is None:
                code = found.choices.get(key[index:])
                if code is not None:
                    return key[:index], code
    return None


def base_type(type_name: str) -> str | None:
    if "." in type_name:
        return "BackboneElement"
    definition = definitions.type_definition(type_name)
    return definition.base if definition else None


@cache
def is_subtype(type_name: str, ancestor: str) -> bool:
    current: str | None = type_name
    while current is not None:
        if current == ancestor:
            return True
        current = base_type(current)
    return False


def is_known_type(name: str) -> bool:
    return definitions.type_definition(name) is not None


def is_resource_type(name: str) -> bool:
    definition = definitions.type_definition(name)
    return definition is not None and definition.is_resource


def is_primitive(type_name: str | None) -> bool:
    return type_name in PRIMITIVE_SYSTEM_TYPES


def type_display_name(type_name: str) -> str:
    """The name ``type()`` reports: backbone elements report ``BackboneElement``."""
    return "BackboneElement" if "." in type_name else type_name
