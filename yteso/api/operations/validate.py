"""``$validate`` on a type or an instance — https://hl7.org/fhir/R4/resource-operation-validate.html

The body is the resource, or a Parameters with a ``resource`` parameter; ``GET`` on an
instance validates what is stored. The same gate every write passes
(:func:`yteso.store.validation_gate.resource_issues`: structure + FHIRPath invariants) makes
the verdict, and the answer is always a 200 OperationOutcome ("All OK" when clean).
"""

from __future__ import annotations

from typing import Any

from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.operations import Operation
from yteso.api.results import information
from yteso.fhir.errors import Invalid, Issue, operation_outcome
from yteso.fhir.types import Json
from yteso.store.validation_gate import resource_issues


def _resource_in(body: Any) -> Json:
    if not isinstance(body, dict):
        raise Invalid("$validate needs a resource, or a Parameters with a 'resource' parameter")
    if body.get("resourceType") != "Parameters":
        return body
    for parameter in body.get("parameter") or []:
        if isinstance(parameter, dict) and parameter.get("name") == "resource":
            resource = parameter.get("resource")
            if isinstance(resource, dict):
                return resource
    raise Invalid("The Parameters has no 'resource' parameter", expression="Parameters.parameter")


def _target(ctx: ApiContext, request: FhirRequest) -> Json:
    if request.body is None and request.id is not None:
        assert request.resource_type is not None
        return ctx.read(request.resource_type, request.id).resource()
    if request.body is None:
        raise Invalid("$validate needs a resource in the body")
    return _resource_in(request.body)


def validate(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    resource = _target(ctx, request)
    issues: list[Issue] = []
    resource_type = resource.get("resourceType")
    if request.resource_type is not None and resource_type != request.resource_type:
        message = f"resourceType {resource_type!r} is not the URL's {request.resource_type!r}"
        issues.append(Issue("error", "invalid", message, ("resourceType",)))
    if request.id is not None and request.body is not None and resource.get("id") != request.id:
        message = f"id {resource.get('id')!r} is not the URL's {request.id!r}"
        issues.append(Issue("error", "invalid", message, (f"{resource_type}.id",)))
    issues.extend(resource_issues(resource))
    if not issues:
        return FhirResponse(200, resource=information("All OK"))
    return FhirResponse(200, resource=operation_outcome(issues))


VALIDATE = Operation(
    name="validate",
    definition="http://hl7.org/fhir/OperationDefinition/Resource-validate",
    handler=validate,
    type=True,
    instance=True,
    methods=frozenset({"GET", "POST"}),
)

__all__ = ["VALIDATE", "validate"]
