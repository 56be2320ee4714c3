"""create and conditional create: ``POST [base]/[type]`` (``If-None-Exist``).

https://hl7.org/fhir/R4/http.html#create and https://hl7.org/fhir/R4/http.html#ccreate — the
server assigns the id (a body id is ignored); one existing match answers 200 with it, several 412.
"""

from __future__ import annotations

from yteso.api.conditional import conditional_query
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.results import require_resource, write_response


def create(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    assert request.resource_type is not None
    resource = {k: v for k, v in require_resource(request).items() if k != "id"}
    if_none_exist = None
    if request.if_none_exist is not None:
        # "r": an existing match is handed back
        if_none_exist = conditional_query(
            ctx, request.resource_type, request.if_none_exist, permission="r"
        )
    with ctx.writing() as session:
        result = session.create(resource, id=request.assigned_id, if_none_exist=if_none_exist)
    return write_response(ctx, request, result)
