"""delete and conditional delete: ``DELETE [base]/[type]/[id]``, ``DELETE [base]/[type]?...``.

https://hl7.org/fhir/R4/http.html#delete (204, or 200 with an OperationOutcome when asked by
``Prefer: return=OperationOutcome``; ``If-Match`` is honoured) and
https://hl7.org/fhir/R4/http.html#3.1.0.7.1 (conditional delete: this server deletes a single
match; several matches are 412).
"""

from __future__ import annotations

from urllib.parse import urlencode

from yteso.api.conditional import conditional_matches
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.headers import parse_version_tag
from yteso.api.results import information
from yteso.fhir.errors import PreconditionFailed


def _deleted(request: FhirRequest, what: str, existed: bool) -> FhirResponse:
    if request.prefer_return not in ("OperationOutcome", "representation"):
        return FhirResponse(204)
    message = f"Deleted {what}" if existed else f"{what} did not exist; nothing to delete"
    return FhirResponse(200, resource=information(message))


def delete(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    assert request.resource_type is not None and request.id is not None
    if_match = parse_version_tag(request.if_match) if request.if_match else None
    with ctx.writing() as session:
        existed = session.delete(request.resource_type, request.id, if_match=if_match)
    return _deleted(request, f"{request.resource_type}/{request.id}", existed)


def conditional_delete(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    assert request.resource_type is not None
    criteria = urlencode(request.params)
    if_match = parse_version_tag(request.if_match) if request.if_match else None
    with ctx.writing() as session:
        matches = conditional_matches(ctx, session, request.resource_type, criteria)
        if len(matches) > 1:
            raise PreconditionFailed(
                f"Several {request.resource_type} match {criteria!r}; this server deletes one"
            )
        if not matches:
            return _deleted(request, f"{request.resource_type}?{criteria}", False)
        target = matches[0]
        session.delete(target.resource_type, target.id, if_match=if_match)
    return _deleted(request, f"{target.resource_type}/{target.id}", True)
