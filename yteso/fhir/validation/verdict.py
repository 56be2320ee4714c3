"""The structure walk's verdict in C: "certainly no issue" or "not sure".

Almost every resource of a bulk load is valid, so there the walk of ``structure.py`` only has
to say so; its issues (with their FHIRPath paths) matter when something is wrong. The C twin
``_structure.c`` walks a resource against the same specs and answers True only where the
Python walk would append no issue of any severity, and False for anything it does not handle
(primitive extensions, contained resources, Bundles, nulls in arrays, subclasses, Decimals...)
or any problem it sees: the caller then runs the Python walk, whose issues are the ones
reported. Datatype rules and extension definitions are checked by the same Python helpers the
walk calls, with a scratch issue list and an empty path (paths appear only in issue texts).

The C twin reads each spec once, as the tuples :func:`_describe` builds here (docs/dev/native.md,
"C extensions"); :func:`certainly_valid_function` is None when the compiled build is not current.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from yteso import native
from yteso.fhir.definitions import is_resource_type, resource_types
from yteso.fhir.validation import structure
from yteso.fhir.validation.extensions import check_extensions, check_sub_extensions
from yteso.fhir.validation.primitives import simple_kind
from yteso.fhir.validation.specs import (
    PRIMITIVE,
    RESOURCE,
    ComplexSpec,
    Field,
    spec_for,
    type_contexts,
)

_MODULE: Final = "yteso.fhir.validation._structure"

# One spec as the C twin reads it:
# (fields {key: field tuple}, required (keys, ...), prohibited keys, is_resource, is_extension)
SpecTuple = tuple[
    dict[str, tuple[object, ...]], tuple[tuple[str, ...], ...], frozenset[str], bool, bool
]


# How the C twin checks a field's datatype rules (structure._datatype_rules).
_NO_RULES: Final = 0  # no rules, or a CodeableConcept without required concepts (a no-op)
_REFERENCE_RULES: Final = 1  # check_reference: the plain ``Type/id`` shape in C, else called
_CODING_RULES: Final = 2  # called, its verdict remembered per (system, code): all it reads
_OTHER_RULES: Final = 3  # called every time
_HOLDER_KEYS: Final = frozenset({"extension", "modifierExtension"})


def _rules(field: Field) -> int:
    if not field.has_rules or (field.type_code == "CodeableConcept" and field.concepts is None):
        return _NO_RULES
    if field.type_code == "Reference":
        return _REFERENCE_RULES
    return _CODING_RULES if field.type_code == "Coding" else _OTHER_RULES


def _field_tuple(field: Field) -> tuple[object, ...]:
    """The order ``_structure.c`` reads (its ``F_`` constants). The two sets are the twin's
    memory of this field's valid primitive texts and Coding (system, code) pairs."""
    # kind, simple kind and rule kind as one bytes object: the C twin reads them as bytes
    flags = bytes((field.kind, simple_kind(field.check), _rules(field)))
    return (
        field,
        flags,
        field.is_array,
        -1 if field.max_count is None else field.max_count,
        field.choice,
        field.codes,
        field.spec,
        field.check,
        field.type_code == "Extension",
        field.contexts,
        field.targets,
        field.key in _HOLDER_KEYS,
        set(),
        set(),
    )


def _describe(spec: ComplexSpec) -> SpecTuple:
    fields = {key: _field_tuple(field) for key, field in spec.fields.items()}
    required = tuple(keys for _name, keys, _minimum in spec.required)
    return (fields, required, spec.prohibited, spec.is_resource, spec.is_extension)


def _describe_resource(resource_type: str) -> tuple[SpecTuple, frozenset[str]] | None:
    """A resource type's spec and extension contexts; None for an unknown type."""
    if not is_resource_type(resource_type):
        return None
    spec = spec_for(resource_type)
    if spec is None:
        return None
    return _describe(spec), type_contexts(resource_type)


def certainly_valid_function() -> Callable[[object], bool] | None:
    """The C twin's ``certainly_valid(resource)``, set up once; None when it may not run."""
    module = native.c_extension(_MODULE)
    if module is None:
        return None
    module.configure(
        _describe,
        _describe_resource,
        structure._datatype_rules,
        check_extensions,
        check_sub_extensions,
        PRIMITIVE,
        RESOURCE,
        resource_types(),
    )
    function: Callable[[object], bool] = module.certainly_valid
    return function


__all__ = ["certainly_valid_function"]
