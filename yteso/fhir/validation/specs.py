"""Validation structures compiled once per type from the StructureDefinition snapshots.

A ``ComplexSpec`` maps every JSON key an object may carry (choice types expanded:
``valueQuantity``, ``valueString``...) to a ``Field`` that knows its cardinality, kind, primitive
checker, nested spec, binding codes and reference targets, so validating an object is one dict
hit per key. Specs are built lazily and cached; recursive structures (``Extension.extension``,
``Questionnaire.item.item``) share one object.

https://hl7.org/fhir/R4/elementdefinition.html, https://hl7.org/fhir/R4/json.html#choice
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Final

from yteso.fhir.definitions import (
    ElementDefinition,
    elements_of,
    type_definition,
    value_set_concepts,
)
from yteso.fhir.validation.primitives import PrimitiveCheck, primitive_check

PRIMITIVE: Final = 0
COMPLEX: Final = 1
RESOURCE: Final = 2
_REPEATING_TYPES: Final = frozenset({"Coding", "Quantity"})
_INLINE_TYPES: Final = ("BackboneElement", "Element")


def _accept(value: object) -> None:
    return None


@cache
def type_contexts(type_name: str, element_path: str = "") -> frozenset[str]:
    """What a node is, for matching extension contexts: its type, the types it specializes
    (``Age`` is a ``Quantity``, ``Patient`` a ``DomainResource``) and its element path."""
    names = {type_name}
    definition = type_definition(type_name)
    while definition is not None and definition.base is not None:
        names.add(definition.base)
        definition = type_definition(definition.base)
    if element_path:
        names.add(element_path)
    return frozenset(names)


class Field:
    """One JSON key of an object: ``name``, ``birthDate``, ``valueQuantity``."""

    __slots__ = (
        "check",
        "choice",
        "codes",
        "concepts",
        "contexts",
        "has_rules",
        "is_array",
        "key",
        "kind",
        "max_count",
        "memo",
        "segment",
        "spec",
        "targets",
        "type_code",
        "value_set",
    )

    def __init__(self, key: str, segment: str, element: ElementDefinition, type_code: str) -> None:
        self.key = key
        self.segment = segment  # the FHIRPath step: ``birthDate``, ``value.ofType(Quantity)``
        self.is_array = element.is_array
        self.max_count = element.max_count
        self.type_code = type_code
        self.choice = element.name if element.is_choice else None
        self.kind = COMPLEX
        self.check: PrimitiveCheck = _accept  # replaced for primitive fields
        self.spec: ComplexSpec | None = None
        self.codes: frozenset[str] | None = None
        self.concepts: dict[str, frozenset[str]] | None = None
        self.value_set: str | None = None
        self.targets: frozenset[str] | None = None
        # What an extension on a value of this field sees as its context (extensions.py).
        self.contexts = type_contexts(type_code, element.path)
        # Reference, Coding, CodeableConcept and Attachment carry rules beyond their elements.
        self.has_rules = type_code in ("Reference", "Coding", "CodeableConcept", "Attachment")
        # Values of these types repeat across resources (the same codes and units): a valid
        # flat one is remembered (structure.py) instead of being checked again.
        self.memo = type_code in _REPEATING_TYPES


class ComplexSpec:
    """What one kind of JSON object (a datatype, a backbone element, a resource) may contain."""

    __slots__ = ("fields", "is_extension", "is_resource", "name", "prohibited", "required")

    def __init__(self, name: str, is_resource: bool) -> None:
        self.name = name
        self.is_resource = is_resource
        self.is_extension = name == "Extension"
        self.fields: dict[str, Field] = {}
        # Keys a constraint profile forbids (max 0), e.g. SimpleQuantity.comparator.
        self.prohibited: frozenset[str] = frozenset()
        # (FHIRPath name, JSON keys any of which satisfies it, min)
        self.required: tuple[tuple[str, tuple[str, ...], int], ...] = ()


_specs: dict[tuple[str, str], ComplexSpec] = {}  # complete specs only: read without the lock
_pending: dict[tuple[str, str], ComplexSpec] = {}  # being filled by the thread holding the lock
_build_lock = threading.RLock()


@cache
def _children(type_name: str) -> dict[str, list[ElementDefinition]]:
    index: dict[str, list[ElementDefinition]] = {}
    for path, element in elements_of(type_name).items():
        index.setdefault(path.rpartition(".")[0], []).append(element)
    return index


def spec_for(type_name: str, path: str | None = None) -> ComplexSpec | None:
    """The spec of a datatype or resource (``path`` None) or of a backbone element path."""
    key = (type_name, path or type_name)
    spec = _specs.get(key)
    if spec is not None:
        return spec
    with _build_lock:
        spec = _specs.get(key) or _pending.get(key)
        if spec is not None:
            return spec  # recursive structures find the spec being filled
        definition = type_definition(type_name)
        if definition is None:
            return None
        outermost = not _pending
        spec = ComplexSpec(key[1], definition.is_resource and path is None)
        _pending[key] = spec
        _fill(spec, type_name, key[1])
        if outermost:  # publish only when every spec reachable from here is filled
            _specs.update(_pending)
            _pending.clear()
    return spec


def _fill(spec: ComplexSpec, type_name: str, path: str) -> None:
    required, prohibited = [], []
    for element in _children(type_name).get(path, []):
        if element.max == "0":
            prohibited.extend(_json_keys(element))
            continue
        keys = _add_fields(spec, type_name, element)
        if element.min > 0:
            required.append((element.name, tuple(keys), element.min))
    spec.required = tuple(required)
    spec.prohibited = frozenset(prohibited)


def _json_keys(element: ElementDefinition) -> list[str]:
    if not element.is_choice:
        return [element.name, "_" + element.name]
    return [element.name + t.code[0].upper() + t.code[1:] for t in element.types]


def _add_fields(spec: ComplexSpec, type_name: str, element: ElementDefinition) -> list[str]:
    """Add the JSON keys of one element; returns them (with ``_key`` for primitives)."""
    keys: list[str] = []
    if element.content_reference:
        target = element.content_reference.lstrip("#")
        field = Field(element.name, element.name, element, "BackboneElement")
        field.spec = spec_for(target.partition(".")[0], target)
        field.contexts = field.contexts | {target}
        spec.fields[field.key] = field
        return [field.key]
    for element_type in element.types:
        code = element_type.code
        if element.is_choice:
            key = element.name + code[0].upper() + code[1:]
            segment = f"{element.name}.ofType({code})"
        else:
            key, segment = element.name, element.name
        field = Field(key, segment, element, code)
        _classify(field, type_name, element, element_type.profiles)
        spec.fields[key] = field
        keys.append(key)
        if field.kind == PRIMITIVE:
            keys.append("_" + key)
    return keys


def _classify(
    field: Field, type_name: str, element: ElementDefinition, profiles: tuple[str, ...]
) -> None:
    code = field.type_code
    definition = type_definition(code)
    if code == "Resource" or (definition is not None and definition.is_resource):
        field.kind = RESOURCE
    elif definition is None or definition.is_primitive or code == "xhtml":
        field.kind = PRIMITIVE
        field.check = primitive_check(code)
    elif code in _INLINE_TYPES and element.path in _children(type_name):
        field.spec = spec_for(type_name, element.path)
    else:
        field.spec = _profiled_spec(code, profiles) or spec_for(code)
    binding = element.binding
    if binding is not None and binding.strength == "required":
        field.concepts = value_set_concepts(binding.value_set)
        if field.concepts is not None:
            field.codes = frozenset().union(*field.concepts.values())
            field.value_set = binding.value_set
    targets = {t for element_type in element.types for t in element_type.target_types}
    if code == "Reference" and targets and "Resource" not in targets:
        field.targets = frozenset(targets)


def _profiled_spec(code: str, profiles: tuple[str, ...]) -> ComplexSpec | None:
    """Core constraint profiles on datatypes (``SimpleQuantity``, ``MoneyQuantity``)."""
    for url in profiles:
        profile = type_definition(url.rsplit("/", 1)[-1])
        if profile is not None and profile.derivation == "constraint" and profile.type == code:
            return spec_for(profile.name, code)
    return None


def element_spec() -> ComplexSpec:
    """The spec of a primitive's ``_name`` object (``id`` and ``extension`` only)."""
    spec = spec_for("Element")
    assert spec is not None
    return spec


__all__ = [
    "COMPLEX",
    "PRIMITIVE",
    "RESOURCE",
    "ComplexSpec",
    "Field",
    "element_spec",
    "spec_for",
    "type_contexts",
]
