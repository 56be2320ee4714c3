"""Structural validation of FHIR R4 resources against the core StructureDefinitions.

https://hl7.org/fhir/R4/validation.html. ``validate(resource)`` returns every structural
problem at once as OperationOutcome issues with FHIRPath expressions (``Patient.birthDate``,
``Observation.component[1].code``, ``Patient.name[0].given[2]``); an empty list means valid.
Checked: resourceType, unknown elements, JSON types, cardinality, choice types, primitive
formats, primitive extensions, extensions (ext-1), contained resources (dom-2/4/5), Bundle
entries, references' shape and targets, required bindings to enumerable value sets, narrative
xhtml, and ele-1 (no empty objects, arrays or strings). Other FHIRPath invariants are checked by
``yteso.fhirpath`` after this.
"""

from __future__ import annotations

import orjson

from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.fhir.validation.structure import validate_resource


def validate(resource: Json) -> list[Issue]:
    """All structural problems of one resource (an empty list when it is valid)."""
    issues: list[Issue] = []
    validate_resource(resource, "", issues, contained=False)
    return issues


def validate_json_bytes(data: bytes) -> tuple[Json | None, list[Issue]]:
    """Parse and validate; malformed JSON gives ``(None, [fatal structure issue])``.

    A leading UTF-8 byte order mark is ignored (RFC 8259 allows parsers to do so).
    """
    try:
        parsed = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))  # a UTF-8 BOM is tolerated
    except orjson.JSONDecodeError as exc:
        return None, [Issue("fatal", "structure", f"malformed JSON: {exc}")]
    if type(parsed) is not dict:
        return None, [Issue("fatal", "structure", "a resource must be a JSON object")]
    return parsed, validate(parsed)


def has_errors(issues: list[Issue]) -> bool:
    """True when any issue is an error or fatal (warnings do not make a resource invalid)."""
    return any(issue.severity in ("error", "fatal") for issue in issues)


__all__ = ["has_errors", "validate", "validate_json_bytes"]
