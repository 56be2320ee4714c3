"""vread: ``GET [base]/[type]/[id]/_history/[vid]`` — https://hl7.org/fhir/R4/http.html#vread

A version that records a deletion is 410 Gone.
"""

from __future__ import annotations

from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.results import stored_response
from yteso.fhir.errors import Gone


def vread(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    assert request.resource_type and request.id and request.version
    stored = ctx.store.vread(request.resource_type, request.id, int(request.version))
    if stored.deleted:
        raise Gone(f"{request.resource_type}/{request.id}/_history/{request.version} is a deletion")
    return stored_response(stored, request)
