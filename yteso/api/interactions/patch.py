"""patch: ``PATCH [base]/[type]/[id]`` (and ``[type]?criteria``) — https://hl7.org/fhir/R4/http.html#patch

JSON Patch (``application/json-patch+json``, RFC 6902) and FHIRPath Patch
(``application/fhir+json`` Parameters, https://hl7.org/fhir/R4/fhirpatch.html). The patched
resource is written like any update, so it is validated; a patch that cannot apply is 422.
``If-Match`` is honoured; otherwise the read version guards against a lost update.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import jsonpatch
import jsonpointer

from yteso.api.conditional import conditional_matches
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.headers import parse_version_tag
from yteso.api.negotiation import JSON_PATCH, JSON_TYPES
from yteso.api.results import write_response
from yteso.fhir.errors import (
    FhirError,
    Invalid,
    NotFound,
    PreconditionFailed,
    Unprocessable,
    UnsupportedMediaType,
)
from yteso.fhir.types import Json
from yteso.fhirpath.patch import apply_fhirpath_patch
from yteso.store.base import StoredVersion


def _json_patch(resource: Json, operations: Any) -> Json:
    if not isinstance(operations, list):
        raise Invalid("A JSON Patch document is an array of operations")
    try:
        patched = jsonpatch.JsonPatch(operations).apply(resource)
    except (jsonpatch.InvalidJsonPatch, TypeError, AttributeError) as exc:
        raise Invalid(f"Invalid JSON Patch: {exc}") from exc
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise Unprocessable(f"The JSON Patch cannot be applied: {exc}") from exc
    if not isinstance(patched, dict):
        raise Unprocessable("The JSON Patch replaced the resource with a non-object")
    return patched


def _fhirpath_patch(resource: Json, parameters: Any) -> Json:
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        raise Invalid("A FHIRPath Patch body is a Parameters resource")
    try:
        patched = apply_fhirpath_patch(resource, parameters)
    except FhirError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise Unprocessable(f"The FHIRPath Patch cannot be applied: {exc}") from exc
    if not isinstance(patched, dict):
        raise Unprocessable("The FHIRPath Patch did not produce a resource")
    return patched


def _patched(current: StoredVersion, request: FhirRequest) -> Json:
    resource = current.resource()
    if request.content_type == JSON_PATCH:
        patched = _json_patch(resource, request.body)
    elif request.content_type in JSON_TYPES:
        patched = _fhirpath_patch(resource, request.body)
    else:
        raise UnsupportedMediaType(
            f"PATCH needs {JSON_PATCH} or application/fhir+json, not {request.content_type!r}"
        )
    if patched.get("resourceType") != current.resource_type or patched.get("id") != current.id:
        raise Unprocessable("A patch may not change the resource's type or id")
    return patched


def _apply(ctx: ApiContext, request: FhirRequest, resource_type: str, id: str) -> FhirResponse:
    if_match = parse_version_tag(request.if_match) if request.if_match else None
    with ctx.writing() as session:
        current = session.read(resource_type, id)
        if if_match is not None and if_match != current.version:
            raise PreconditionFailed(
                f"If-Match {request.if_match} but {resource_type}/{id} is at version "
                f"{current.version}"
            )
        result = session.update(_patched(current, request), if_match=current.version)
    return write_response(ctx, request, result)


def patch(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    assert request.resource_type is not None and request.id is not None
    return _apply(ctx, request, request.resource_type, request.id)


def conditional_patch(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    assert request.resource_type is not None
    criteria = urlencode(request.params)
    with ctx.writing() as session:
        matches = conditional_matches(ctx, session, request.resource_type, criteria, "u")
    if len(matches) > 1:
        raise PreconditionFailed(f"Several {request.resource_type} match {criteria!r}")
    if not matches:
        raise NotFound(f"No {request.resource_type} matches {criteria!r}")
    return _apply(ctx, request, request.resource_type, matches[0].id)
