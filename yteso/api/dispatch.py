"""Which interaction answers a request: one table keyed by (level, method).

https://hl7.org/fhir/R4/http.html#summary — the level is what the URL names (system, type,
instance, version, history, operation); a method the level does not take is 405.
"""

from __future__ import annotations

from yteso.api import view_definitions
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.interactions import (
    capabilities,
    create,
    delete,
    history,
    patch,
    read,
    search,
    transaction,
    update,
    vread,
)
from yteso.api.operations import OperationHandler
from yteso.api.operations.reindex import reindex_after_write
from yteso.fhir.errors import FhirError, NotFound, NotSupported


def _transaction(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    return transaction.transaction(ctx, request, dispatch)


INTERACTIONS: dict[tuple[str, str], OperationHandler] = {
    ("system", "GET"): search.search,
    ("system", "POST"): _transaction,
    ("metadata", "GET"): capabilities.capabilities,
    ("history", "GET"): history.history,
    ("type", "GET"): search.search,
    ("type", "POST"): create.create,
    ("type", "PUT"): update.conditional_update,
    ("type", "DELETE"): delete.conditional_delete,
    ("type", "PATCH"): patch.conditional_patch,
    ("search", "POST"): search.search,
    ("search", "GET"): search.search,
    ("instance", "GET"): read.read,
    ("instance", "PUT"): update.update,
    ("instance", "DELETE"): delete.delete,
    ("instance", "PATCH"): patch.patch,
    ("version", "GET"): vread.vread,
}


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WRITES_AT = frozenset({"type", "instance"})


def level(request: FhirRequest) -> str:
    if request.operation == "metadata":
        return "metadata"
    if request.operation == "_history":
        return "history"
    if request.operation == "_search":
        return "search"
    if request.version is not None:
        return "version"
    if request.id is not None:
        return "instance"
    return "type" if request.resource_type is not None else "system"


def _operation(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    assert request.operation is not None
    operation = ctx.settings.operations.get(request.operation)
    if operation is None or not operation.allowed_at(request.resource_type, request.id):
        raise NotFound(f"Operation {request.operation} is not supported here")
    if request.method not in operation.methods:
        raise NotSupported(f"{request.method} is not allowed for {request.operation}")
    return operation.handler(ctx, request)


def dispatch(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    """Run the interaction or operation ``request`` names, through the caller's guard: every
    single request, batch/transaction entry and operation is authorised and audited here."""
    response = _guarded(ctx, request)
    if ctx.session is None and request.method in WRITE_METHODS:  # committed by now
        reindex_after_write(ctx, request, response.status)
    return response


def _guarded(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    guard = ctx.guard
    if guard is None:
        return _unguarded(ctx, request)
    try:
        request = guard.before(ctx, request)
        if request.method in WRITE_METHODS and ctx.session is None and level(request) in WRITES_AT:
            # One session around the write and the check of what it wrote: a refusal after
            # the fact (a PATCH moving a resource out of reach) rolls the write back.
            with ctx.store.session() as session:
                inner = ctx.in_session(session)
                response = _unguarded(inner, request)
                guard.after(inner, request, response)
        else:
            response = _unguarded(ctx, request)
            guard.after(ctx, request, response)
    except FhirError as error:
        guard.record(ctx, request, error.status)
        raise
    guard.record(ctx, request, response.status, response)
    return response


def _unguarded(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    if request.operation is not None and request.operation.startswith("$"):
        return _operation(ctx, request)
    if request.resource_type == view_definitions.VIEW_TYPE:  # stored as Library, see there
        return view_definitions.handle(ctx, request)
    handler = INTERACTIONS.get((level(request), request.method))
    if handler is None:
        raise NotSupported(f"{request.method} is not allowed on this URL")
    return handler(ctx, request)


__all__ = ["INTERACTIONS", "dispatch", "level"]
