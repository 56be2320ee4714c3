"""Shaping what interactions return: stored bytes, projections, write results and Prefer.

https://hl7.org/fhir/R4/http.html#ops (Prefer: return=minimal|representation|OperationOutcome)
and https://hl7.org/fhir/R4/search.html#summary (``_summary``/``_elements`` on read).
"""

from __future__ import annotations

from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.fhir.errors import Invalid, Issue, operation_outcome
from yteso.fhir.summary import SUMMARY_MODES, select_elements, summarize
from yteso.fhir.types import Json
from yteso.store.base import StoredVersion, WriteResult


def information(message: str) -> Json:
    return operation_outcome([Issue("information", "informational", message)])


def project(resource: Json, summary: str | None, elements: str | None) -> Json:
    """Apply ``_summary`` then ``_elements`` (https://hl7.org/fhir/R4/search.html#summary)."""
    if summary is not None:
        if summary not in SUMMARY_MODES:
            raise Invalid(f"_summary: {summary!r} is not one of {', '.join(SUMMARY_MODES)}")
        resource = summarize(resource, summary)
    if elements:
        resource = select_elements(resource, elements.split(","))
    return resource


def stored_response(stored: StoredVersion, request: FhirRequest, status: int = 200) -> FhirResponse:
    """The stored bytes as-is (the fast path), or a projection when one is asked for."""
    summary, elements = request.param("_summary"), request.param("_elements")
    if summary in (None, "false") and not elements:
        return FhirResponse(status, raw=stored.body, stored=stored)
    return FhirResponse(
        status, resource=project(stored.resource(), summary, elements), stored=stored
    )


def location(ctx: ApiContext, stored: StoredVersion) -> str:
    return f"{ctx.base_url}/{stored.resource_type}/{stored.id}/_history/{stored.version}"


def write_response(ctx: ApiContext, request: FhirRequest, result: WriteResult) -> FhirResponse:
    """201 for a new resource, else 200; the body chosen by ``Prefer: return``."""
    stored = result.stored
    status = 201 if result.created else 200
    response = FhirResponse(status, stored=stored, location=location(ctx, stored))
    preference = request.prefer_return or "representation"
    if preference == "representation":
        response.raw = stored.body
    elif preference == "OperationOutcome":
        verb = "Created" if result.created else "Updated" if result.changed else "Found existing"
        response.outcome = information(f"{verb} {stored.resource_type}/{stored.id}")
    return response


def require_resource(request: FhirRequest) -> Json:
    """The body as a resource of the URL's type (https://hl7.org/fhir/R4/http.html#create)."""
    body = request.body
    if not isinstance(body, dict):
        raise Invalid("The body must be a JSON object holding a FHIR resource")
    resource_type = body.get("resourceType")
    if resource_type != request.resource_type:
        raise Invalid(
            f"resourceType {resource_type!r} does not match the URL's type "
            f"{request.resource_type!r}",
            expression="resourceType",
        )
    return body


__all__ = [
    "information",
    "location",
    "project",
    "require_resource",
    "stored_response",
    "write_response",
]
