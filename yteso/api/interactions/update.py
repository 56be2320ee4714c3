"""update, update-as-create, conditional update: ``PUT [base]/[type]/[id]``, ``PUT [type]?...``.

https://hl7.org/fhir/R4/http.html#update (the body's id must equal the URL's id),
https://hl7.org/fhir/R4/http.html#cond-update and version-aware updates with ``If-Match``
(https://hl7.org/fhir/R4/http.html#concurrency: a mismatch is 412).
"""

from __future__ import annotations

from urllib.parse import urlencode

from yteso.api.conditional import conditional_matches, conditional_query
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.headers import parse_version_tag
from yteso.api.results import require_resource, write_response
from yteso.fhir.errors import Invalid, PreconditionFailed


def update(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    resource = require_resource(request)
    if resource.get("id") != request.id:
        raise Invalid(
            f"The body's id {resource.get('id')!r} does not match the URL's id {request.id!r}",
            expression=f"{request.resource_type}.id",
        )
    if_match = parse_version_tag(request.if_match) if request.if_match else None
    with ctx.writing() as session:
        result = session.update(resource, if_match=if_match)
    return write_response(ctx, request, result)


def conditional_update(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    """0 matches: create; 1 match: update it; several: 412. The store holds a lock on the
    criteria meanwhile, so concurrent conditional updates never create twice."""
    assert request.resource_type is not None
    resource = require_resource(request)
    criteria = urlencode(request.params)
    query = conditional_query(ctx, request.resource_type, criteria, permission="u")
    if request.assigned_id is not None and "id" not in resource:
        resource = {**resource, "id": request.assigned_id}  # a transaction's chosen id
    if request.if_match is None:
        with ctx.writing() as session:
            result = session.conditional_update(resource, query)
        return write_response(ctx, request, result)
    if_match = parse_version_tag(request.if_match)
    with ctx.writing() as session:
        matches = conditional_matches(ctx, session, request.resource_type, criteria, "u")
        if len(matches) != 1:
            raise PreconditionFailed(
                f"If-Match needs exactly one {request.resource_type} matching {criteria!r}; "
                f"found {'several' if matches else 'none'}"
            )
        if resource.get("id", matches[0].id) != matches[0].id:
            raise Invalid(
                f"The body's id {resource.get('id')!r} differs from the match {matches[0].id!r}",
                expression=f"{request.resource_type}.id",
            )
        result = session.update({**resource, "id": matches[0].id}, if_match=if_match)
    return write_response(ctx, request, result)
