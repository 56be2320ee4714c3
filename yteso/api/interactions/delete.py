"""delete and conditional delete: ``DELETE [base]/[type]/[id]``, ``DELETE [base]/[type]?...``.

https://hl7.org/fhir/R4/http.html#delete (204, or 200 with an OperationOutcome when asked by
``Prefer: return=OperationOutcome``; ``If-Match`` is honoured) and
https://hl7.org/fhir/R4/http.html#3.1.0.7.1 (conditional delete: this server deletes a single
match; several matches are 412).
"""

from __future__ import annotations

from urllib.parse import urlencode

from yteso.api.conditional import conditional_matches, conditional_query
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
    """The store deletes the single match under a lock on the criteria (several: 412)."""
    assert request.resource_type is not None
    criteria = urlencode(request.params)
    query = conditional_query(ctx, request.resource_type, criteria, permission="d")
    what = f"{request.resource_type}?{criteria}"
    if request.if_match is None:
        with ctx.writing() as session:
            deleted = session.conditional_delete(request.resource_type, query)
        return _deleted(request, what, deleted > 0)
    if_match = parse_version_tag(request.if_match)
    with ctx.writing() as session:
        matches = conditional_matches(ctx, session, request.resource_type, criteria, "d")
        if len(matches) > 1:
            raise PreconditionFailed(f"Several {request.resource_type} match {criteria!r}")
        if not matches:
            return _deleted(request, what, False)
        session.delete(request.resource_type, matches[0].id, if_match=if_match)
    return _deleted(request, what, True)
