"""Structural validation of FHIR R4 resources against the core StructureDefinitions.

https://hl7.org/fhir/R4/validation.html. ``validate(resource)`` returns every structural
problem at once as OperationOutcome issues with FHIRPath expressions (``Patient.birthDate``,
``Observation.component[1].code``, ``Patient.name[0].given[2]``); an empty list means valid.
Checked: resourceType, unknown elements, JSON types, cardinality, choice types, primitive
formats, primitive extensions, extensions (ext-1), contained resources (dom-2/4/5), Bundle
entries, references' shape and targets, required bindings to enumerable value sets, narrative
xhtml, ele-1 (no empty objects, arrays or strings), and extensions against the core extension
definitions (value types, contexts, cardinality). Other FHIRPath invariants are checked by
``yteso.fhirpath`` after this. ``ValidationOptions`` selects the checks the HL7 Java validator
makes optional (example URLs, security checks, HTML in markdown, contained resources, local
reference resolution, how unknown extensions are reported).
"""

from __future__ import annotations

import orjson

from yteso.fhir import definitions, json_codec
from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.fhir.validation.extensions import current_options
from yteso.fhir.validation.optional_checks import optional_issues
from yteso.fhir.validation.options import PLATFORM_OPTIONS, VN_CORE_DOMAIN, ValidationOptions
from yteso.fhir.validation.primitives import primitive_check
from yteso.fhir.validation.specs import spec_for
from yteso.fhir.validation.structure import check_object, validate_resource


def validate(resource: Json, options: ValidationOptions = PLATFORM_OPTIONS) -> list[Issue]:
    """All structural problems of one resource (an empty list when it is valid)."""
    issues: list[Issue] = []
    if options is PLATFORM_OPTIONS:
        validate_resource(resource, "", issues, contained=False)
        return issues
    token = current_options.set(options)
    try:
        validate_resource(resource, "", issues, contained=False)
    finally:
        current_options.reset(token)
    if type(resource) is dict:
        issues.extend(optional_issues(resource, options))
    return issues


def validate_element(value: object, type_name: str) -> list[Issue]:
    """All structural problems of one element of a datatype (``HumanName``, ``code``), a
    backbone element (``Patient.contact``) or a resource, with paths rooted at the type name.

    For FHIRPath's ``conformsTo()``: the element against its type's core definition. Bindings and
    cardinalities set on the element that holds the value are not the type's, so not checked.
    """
    if definitions.is_resource_type(type_name):
        if type(value) is not dict:
            return [Issue("error", "structure", "a resource must be a JSON object")]
        return validate(value)
    issues: list[Issue] = []
    definition = definitions.type_definition(type_name.split(".", 1)[0])
    if definition is None:
        issues.append(Issue("error", "structure", f"unknown type {type_name!r}"))
    elif definition.is_primitive:
        problem = primitive_check(type_name)(value)
        if problem is not None:
            issues.append(Issue("error", problem[0], problem[1], (type_name,)))
    elif type(value) is not dict:
        issues.append(Issue("error", "structure", f"a {type_name} must be a JSON object"))
    else:
        root = type_name.split(".", 1)[0]
        spec = spec_for(root, type_name if "." in type_name else None)
        if spec is None:
            issues.append(Issue("error", "structure", f"unknown element {type_name!r}"))
        else:
            check_object(value, spec, type_name, issues)
    return issues


def validate_json_bytes(
    data: bytes, options: ValidationOptions = PLATFORM_OPTIONS
) -> tuple[Json | None, list[Issue]]:
    """Parse and validate; malformed JSON gives ``(None, [fatal structure issue])``.

    A leading UTF-8 byte order mark is ignored (RFC 8259 allows parsers to do so).
    """
    try:
        parsed = json_codec.loads(data.removeprefix(b"\xef\xbb\xbf"))  # a UTF-8 BOM is tolerated
    except orjson.JSONDecodeError as exc:
        return None, [Issue("fatal", "structure", f"malformed JSON: {exc}")]
    if type(parsed) is not dict:
        return None, [Issue("fatal", "structure", "a resource must be a JSON object")]
    return parsed, validate(parsed, options)


def has_errors(issues: list[Issue]) -> bool:
    """True when any issue is an error or fatal (warnings do not make a resource invalid)."""
    return any(issue.severity in ("error", "fatal") for issue in issues)


__all__ = [
    "PLATFORM_OPTIONS",
    "VN_CORE_DOMAIN",
    "ValidationOptions",
    "has_errors",
    "validate",
    "validate_element",
    "validate_json_bytes",
]
