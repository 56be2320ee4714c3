"""Type tests over FHIR and System types: ``is``, ``as``, ``ofType``, ``type()``.

https://hl7.org/fhirpath/N1/#types-and-reflection and https://hl7.org/fhir/R4/fhirpath.html#types.
``is`` follows inheritance (``code`` is a ``string``, ``Age`` is a ``Quantity``); ``as`` and
``ofType`` keep only exact type matches, as the official R4 test suite requires
(``Patient.gender.as(string)`` is empty while ``Patient.gender.is(string)`` is true).
"""

from __future__ import annotations

from typing import Any

from yteso.fhirpath import model, nodes
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.values import Node, system_type_name

TYPE_INFO = "SimpleTypeInfo"


def check_specifier(spec: nodes.TypeSpecifier) -> None:
    """Fail early on a type name that exists in neither namespace."""
    namespace, name = spec.namespace, spec.name
    known_fhir = model.is_known_type(name) or name in ("BackboneElement", "Element", "Resource")
    known_system = name in model.SYSTEM_TYPES
    if (namespace == "FHIR" and known_fhir) or namespace == "System":
        return  # System.Patient is a valid question whose answer is always false
    if namespace is None and (known_fhir or known_system):
        return
    shown = f"{namespace}.{name}" if namespace else name
    raise FhirPathEvaluationError(f"unknown type {shown}")


def specifier_from_expression(expression: nodes.Expression) -> nodes.TypeSpecifier:
    """``ofType(FHIR.Patient)``: function arguments naming a type parse as paths."""
    if isinstance(expression, nodes.Identifier):
        return nodes.TypeSpecifier(None, expression.name, offset=expression.offset)
    if isinstance(expression, nodes.Member) and isinstance(expression.source, nodes.Identifier):
        return nodes.TypeSpecifier(
            expression.source.name, expression.name, offset=expression.offset
        )
    raise FhirPathEvaluationError("expected a type name")


def node_type(item: Node) -> str | None:
    if item.type is None and isinstance(item.data, dict):
        resource_type = item.data.get("resourceType")
        return resource_type if isinstance(resource_type, str) else None
    return item.type


def matches(item: Any, spec: nodes.TypeSpecifier, *, exact: bool) -> bool:
    if type(item) is Node:
        if spec.namespace == "System":
            return False
        actual = node_type(item)
        if actual is None:
            return False
        return actual == spec.name or (not exact and model.is_subtype(actual, spec.name))
    if spec.namespace == "FHIR":
        return False
    return system_type_name(item) == spec.name


def type_info(item: Any) -> Node:
    if type(item) is Node:
        actual = node_type(item)
        name = model.type_display_name(actual) if actual else "Element"
        return Node({"namespace": "FHIR", "name": name}, TYPE_INFO)
    return Node({"namespace": "System", "name": system_type_name(item)}, TYPE_INFO)
