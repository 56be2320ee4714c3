"""read: ``GET [base]/[type]/[id]`` — https://hl7.org/fhir/R4/http.html#read

The stored bytes are served as-is; ``If-None-Match``/``If-Modified-Since`` give 304
(https://hl7.org/fhir/R4/http.html#cread); a deleted resource is 410.
"""

from __future__ import annotations

from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.headers import not_modified
from yteso.api.results import stored_response
from yteso.fhir.errors import Gone


def read(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    assert request.resource_type is not None and request.id is not None
    stored = ctx.read(request.resource_type, request.id)
    if stored.deleted:
        raise Gone(f"{request.resource_type}/{request.id} was deleted")
    if not_modified(stored, request.if_none_match, request.if_modified_since):
        return FhirResponse(304, stored=stored)
    return stored_response(stored, request)
