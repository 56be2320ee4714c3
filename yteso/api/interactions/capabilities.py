"""capabilities: ``GET [base]/metadata`` — https://hl7.org/fhir/R4/http.html#capabilities

Generated from what this server really does: every resource type of the definitions with the
interactions implemented here, the search parameters the store evaluates, and the operations
of the operation table (https://hl7.org/fhir/R4/capabilitystatement.html).
"""

from __future__ import annotations

from datetime import UTC, datetime

from yteso import __version__
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.operations import Operation
from yteso.api.view_definitions import SEARCHED, VIEW_PROFILE, VIEW_TYPE
from yteso.fhir.definitions import search_parameters
from yteso.fhir.types import FHIR_VERSION, Json
from yteso.store.custom_params import custom_parameters

TYPE_INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)
SYSTEM_INTERACTIONS = ("transaction", "batch", "search-system", "history-system")


# Accepted by search but not search parameters: controls and the spec's own mechanisms.
NOT_LISTED = frozenset({"_include", "_revinclude", "_has", "_compartment"})


def _search_param(resource_type: str | None, code: str) -> Json:
    """A searchParam entry; the type and URL come from the official or custom definition when
    there is one (a parameter a module adds without a definition is listed as ``special``)."""
    definition = search_parameters(resource_type or "Resource").get(code)
    if definition is None:  # a registered custom SearchParameter (its own canonical URL)
        definition = custom_parameters(resource_type or "Resource").get(code)
    if definition is None:
        return {"name": code, "type": "special"}
    return {"name": code, "definition": definition.url, "type": definition.type}


def _operations(operations: list[Operation]) -> list[Json]:
    return [{"name": op.name, "definition": op.definition} for op in operations]


LOGICAL_RESOURCE = "https://yteso.vn/fhir/StructureDefinition/logical-resource"


def _view_definition(ctx: ApiContext) -> Json:
    """ViewDefinition (SQL-on-FHIR v2) is not an R4 type, so ``rest.resource`` cannot list it
    (its ``type`` is bound to R4's resource types): an extension on ``rest`` says what is served
    for it (kept as Library, see yteso.api.view_definitions), and its operations."""
    operations = [
        op
        for op in ctx.settings.operations.values()
        if op.resource_types is not None and VIEW_TYPE in op.resource_types
    ]
    parts: list[Json] = [{"url": "type", "valueUri": VIEW_PROFILE}]
    parts += [
        {"url": "interaction", "valueCode": code}
        for code in ("read", "update", "delete", "create", "search-type")
    ]
    parts += [{"url": "searchParam", "valueString": code} for code in sorted(SEARCHED - {"_count"})]
    parts += [{"url": "operation", "valueCanonical": op.definition} for op in operations]
    return {"url": LOGICAL_RESOURCE, "extension": parts}


def _resource(ctx: ApiContext, resource_type: str) -> Json:
    operations = [
        op
        for op in ctx.settings.operations.values()
        if op.allowed_at(resource_type, None) or op.allowed_at(resource_type, "id")
    ]
    entry: Json = {
        "type": resource_type,
        "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalRead": "modified-since",
        "conditionalUpdate": True,
        "conditionalDelete": "single",
        "searchInclude": ["*"],
        "searchRevInclude": ["*"],
        "searchParam": [
            _search_param(resource_type, code)
            for code in sorted(ctx.supported_params(resource_type) - NOT_LISTED)
        ],
    }
    if operations:
        entry["operation"] = _operations(operations)
    return entry


def capability_statement(ctx: ApiContext) -> Json:
    system_ops = [op for op in ctx.settings.operations.values() if op.system]
    rest: Json = {
        "extension": [_view_definition(ctx)],
        "mode": "server",
        "resource": [_resource(ctx, name) for name in sorted(ctx.resource_types - {VIEW_TYPE})],
        "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
        "searchParam": [
            _search_param(None, code) for code in sorted(ctx.supported_params(None) - NOT_LISTED)
        ],
    }
    if system_ops:
        rest["operation"] = _operations(system_ops)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "kind": "instance",
        "software": {"name": "Yteso", "version": __version__},
        "implementation": {"description": "Yteso FHIR R4 server", "url": ctx.base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["json", "application/fhir+json"],
        "patchFormat": ["application/json-patch+json", "application/fhir+json"],
        "rest": [rest],
    }


def capabilities(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    return FhirResponse(200, resource=capability_statement(ctx))
