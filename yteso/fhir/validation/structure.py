"""Structural validation of a FHIR R4 resource in its JSON form, reporting every problem at once.

https://hl7.org/fhir/R4/json.html (representation), https://hl7.org/fhir/R4/validation.html
(what validation covers), https://hl7.org/fhir/R4/references.html,
https://hl7.org/fhir/R4/extensibility.html. FHIRPath invariants other than the structural
ones (ele-1, ext-1, dom-2, dom-4, dom-5) are left to ``yteso.fhirpath``.
"""

from __future__ import annotations

from typing import Any, Final

from yteso.fhir.definitions import is_resource_type
from yteso.fhir.errors import Issue
from yteso.fhir.validation.extensions import (
    check_extensions,
    check_sub_extensions,
    current_options,
)
from yteso.fhir.validation.primitives import primitive_check
from yteso.fhir.validation.references import check_coding_system, check_reference
from yteso.fhir.validation.rules import check_attachment, check_bundle, check_contained
from yteso.fhir.validation.specs import (
    PRIMITIVE,
    RESOURCE,
    ComplexSpec,
    Field,
    element_spec,
    spec_for,
    type_contexts,
)

_check_id: Final = primitive_check("id")
# (field, keys and values, value types) of flat objects found valid (``_memo_key``): a repeated
# Coding or Quantity is one set lookup. The types are in the key because True == 1 and 1 == 1.0
# in Python but not in JSON. An object holding arrays or objects is unhashable and never
# remembered. Bounded.
_KNOWN_VALID: Final[set[tuple[object, ...]]] = set()
_REMEMBERED_OBJECTS: Final = 50_000


def _error(issues: list[Issue], code: str, message: str, path: str) -> None:
    issues.append(Issue("error", code, message, (path,) if path else ()))


def validate_resource(resource: object, path: str, issues: list[Issue], contained: bool) -> None:
    """Validate one resource; ``path`` is the FHIRPath of the resource itself."""
    if type(resource) is not dict:
        _error(issues, "structure", "a resource must be a JSON object", path)
        return
    resource_type = resource.get("resourceType")
    if type(resource_type) is not str:
        _error(issues, "structure", "resourceType is missing", path)
        return
    if not is_resource_type(resource_type):
        _error(issues, "structure", f"unknown resourceType {resource_type!r}", path)
        return
    spec = spec_for(resource_type)
    assert spec is not None
    base = path or resource_type
    check_object(resource, spec, base, issues)
    if "extension" in resource or "modifierExtension" in resource:
        check_extensions(resource, type_contexts(resource_type), base, issues)
    if contained:
        check_contained(resource, base, issues)
    if resource_type == "Bundle":
        check_bundle(resource, base, issues)


def check_object(obj: dict[str, Any], spec: ComplexSpec, path: str, issues: list[Issue]) -> None:
    """Validate one JSON object against its spec, appending every problem to ``issues``."""
    fields = spec.fields
    choices: dict[str, str] | None = None
    for key, value in obj.items():
        field = fields.get(key)
        if field is None:
            _key_without_field(obj, key, value, spec, path, issues)
            continue
        if field.choice is not None:
            choices = _note_choice(choices, field, key, path, issues)
        if field.is_array:
            _array(obj, field, value, path, issues)
        elif type(value) is list:
            message = f"{key!r} must be a single value, not a JSON array"
            _error(issues, "structure", message, f"{path}.{field.segment}")
        elif field.kind == PRIMITIVE:
            # Fast path: most values are valid primitives; their path is built only on error.
            if field.check(value) is not None or (
                field.codes is not None and value not in field.codes
            ):
                _primitive_problem(field, value, f"{path}.{field.segment}", issues)
        else:
            _item(field, value, path, -1, issues)
    for name, keys, minimum in spec.required:
        for required_key in keys:
            if required_key in obj:
                break
        else:
            message = f"{name}: minimum required = {minimum}, found 0"
            _error(issues, "required", message, f"{path}.{name}")
    if spec.is_extension:
        _extension_shape(obj, path, issues)


def _key_without_field(
    obj: dict[str, Any], key: str, value: object, spec: ComplexSpec, path: str, issues: list[Issue]
) -> None:
    if key in spec.prohibited:
        _error(issues, "structure", f"{key!r} is not allowed here", f"{path}.{key}")
    elif key[0] == "_":
        _primitive_extension(obj, key, value, spec, path, issues)
    elif key != "resourceType" or not spec.is_resource:
        _error(issues, "structure", f"unknown element {key!r}", f"{path}.{key}")


def _note_choice(
    choices: dict[str, str] | None, field: Field, key: str, path: str, issues: list[Issue]
) -> dict[str, str]:
    """Record which type a choice element uses; a second one is an error."""
    if choices is None:
        choices = {}
    other = choices.setdefault(field.choice or "", key)
    if other != key:
        message = f"only one of {other!r} and {key!r} is allowed ({field.choice}[x] is one choice)"
        _error(issues, "structure", message, f"{path}.{key}")
    return choices


def _array(
    obj: dict[str, Any], field: Field, value: object, path: str, issues: list[Issue]
) -> None:
    """``path`` is the object's; the array's own path is built only for a problem."""
    if type(value) is not list:
        message = f"{field.key!r} must be a JSON array"
        _error(issues, "structure", message, f"{path}.{field.segment}")
        return
    if not value:
        message = "arrays must not be empty (ele-1)"
        _error(issues, "structure", message, f"{path}.{field.segment}")
        return
    if field.max_count is not None and len(value) > field.max_count:
        message = f"at most {field.max_count} allowed, found {len(value)}"
        _error(issues, "structure", message, f"{path}.{field.segment}")
    if field.kind != PRIMITIVE:
        for index, item in enumerate(value):
            _item(field, item, path, index, issues)
        return
    check, codes = field.check, field.codes
    for index, item in enumerate(value):
        if item is None:
            _null_in_array(obj, field, index, f"{path}.{field.segment}", issues)
        elif check(item) is not None or (codes is not None and item not in codes):
            _primitive_problem(field, item, f"{path}.{field.segment}[{index}]", issues)


def _null_in_array(
    obj: dict[str, Any], field: Field, index: int, base: str, issues: list[Issue]
) -> None:
    extensions = obj.get("_" + field.key)
    if type(extensions) is not list or index >= len(extensions) or not extensions[index]:
        _error(
            issues,
            "structure",
            "null is only allowed where the matching _ array entry has an id or extensions",
            f"{base}[{index}]",
        )


def _primitive_problem(field: Field, value: object, path: str, issues: list[Issue]) -> None:
    problem = field.check(value)
    if problem is not None:
        _error(issues, problem[0], problem[1], path)
    else:
        message = f"{value!r} is not in the required value set {field.value_set}"
        _error(issues, "code-invalid", message, path)


def _item(field: Field, value: object, parent: str, index: int, issues: list[Issue]) -> None:
    """One complex or resource value (primitives take the fast paths above): ``parent`` is the
    path of the object holding it, ``index`` its place in an array (-1 for a single value).
    A remembered valid value returns before its path is built (most Codings and Quantities)."""
    memo_key: tuple[object, ...] | None = None
    if field.memo and type(value) is dict:
        memo_key = _memo_key(field, value)
        try:
            if memo_key in _KNOWN_VALID:
                return
        except TypeError:  # holds an array or object (extensions): checked every time
            memo_key = None
    path = f"{parent}.{field.segment}" if index < 0 else f"{parent}.{field.segment}[{index}]"
    if field.kind == RESOURCE:
        contained = field.key == "contained"
        if not contained or current_options.get().validate_contained:
            validate_resource(value, path, issues, contained=contained)
        return
    if type(value) is not dict:
        _error(issues, "structure", f"expected a JSON object for {field.type_code}", path)
        return
    if not value or (len(value) == 1 and "id" in value):
        _error(issues, "invariant", "ele-1: all FHIR elements must have a value or children", path)
        return
    found = len(issues)
    _complex_item(field, value, path, issues)
    if memo_key is not None and len(issues) == found and len(_KNOWN_VALID) < _REMEMBERED_OBJECTS:
        _KNOWN_VALID.add(memo_key)


def _memo_key(field: Field, value: dict[str, Any]) -> tuple[object, ...]:
    """``(field, key, value, key, value, ...)``, then the values' types unless all are strings
    (a type never equals a string, so the two shapes cannot collide). One flat tuple: hashing
    and comparing it costs about half of a tuple of ``(key, value)`` pairs."""
    parts: list[object] = [field]
    strings = True
    for key, item in value.items():
        parts.append(key)
        parts.append(item)
        if type(item) is not str:
            strings = False
    if not strings:
        parts.extend([type(item) for item in value.values()])
    return tuple(parts)


def _complex_item(field: Field, value: dict[str, Any], path: str, issues: list[Issue]) -> None:
    assert field.spec is not None
    check_object(value, field.spec, path, issues)
    if field.has_rules:
        _datatype_rules(field, value, path, issues)
    if "extension" in value or "modifierExtension" in value:
        if field.type_code == "Extension":
            check_sub_extensions(value, path, issues)
        else:
            check_extensions(value, field.contexts, path, issues)


def _datatype_rules(field: Field, value: dict[str, Any], path: str, issues: list[Issue]) -> None:
    type_code = field.type_code
    if type_code == "Reference":
        check_reference(value, field.targets, path, issues)
    elif type_code == "Coding":
        check_coding_system(value, path, issues)
        if field.concepts is not None and not _coding_in(value, field.concepts):
            _error(
                issues,
                "code-invalid",
                f"coding is not in the required value set {field.value_set}",
                path,
            )
    elif type_code == "CodeableConcept" and field.concepts is not None:
        codings = value.get("coding")
        if type(codings) is list and codings:
            if not any(type(c) is dict and _coding_in(c, field.concepts) for c in codings):
                _error(
                    issues,
                    "code-invalid",
                    f"no coding is in the required value set {field.value_set}",
                    path,
                )
    elif type_code == "Attachment":
        check_attachment(value, path, issues)


def _coding_in(coding: dict[str, Any], concepts: dict[str, frozenset[str]]) -> bool:
    code = coding.get("code")
    if type(code) is not str:
        # nothing coded (other rules decide whether a code is needed), or a code of the wrong
        # JSON type, which the check of ``code`` itself reports
        return True
    system = coding.get("system")
    if system is None:
        return any(code in codes for codes in concepts.values())
    if type(system) is not str:
        return True  # reported by the check of ``system``
    codes = concepts.get(system)
    return codes is not None and code in codes


def _primitive_extension(
    obj: dict[str, Any], key: str, value: object, spec: ComplexSpec, path: str, issues: list[Issue]
) -> None:
    """``_birthDate`` beside ``birthDate``: id and extensions of a primitive value."""
    field = spec.fields.get(key[1:])
    where = f"{path}.{key}"
    if field is None or field.kind != PRIMITIVE:
        _error(issues, "structure", f"unknown element {key!r}", where)
        return
    values = obj.get(field.key)
    if not field.is_array:
        _element_object(value, values is not None, field, where, issues)
        return
    if type(value) is not list:
        _error(issues, "structure", f"{key!r} must be a JSON array", where)
        return
    if values is not None and (type(values) is not list or len(values) != len(value)):
        _error(issues, "structure", f"{key!r} must have as many entries as {field.key!r}", where)
    for index, item in enumerate(value):
        if item is not None:
            has_value = type(values) is list and index < len(values) and values[index] is not None
            _element_object(item, has_value, field, f"{where}[{index}]", issues)


def _element_object(
    value: object, has_value: bool, field: Field, path: str, issues: list[Issue]
) -> None:
    if type(value) is not dict:
        _error(issues, "structure", "expected a JSON object with id and/or extension", path)
    elif not value or (not has_value and value.keys() == {"id"}):
        _error(issues, "invariant", "ele-1: all FHIR elements must have a value or children", path)
    else:
        check_object(value, element_spec(), path, issues)
        if "extension" in value:
            check_extensions(value, field.contexts, path, issues)


def _extension_shape(obj: dict[str, Any], path: str, issues: list[Issue]) -> None:
    has_value = any(key.startswith(("value", "_value")) for key in obj)
    if has_value == ("extension" in obj):
        _error(
            issues,
            "invariant",
            "ext-1: an extension must have either extensions or value[x], not both",
            path,
        )
