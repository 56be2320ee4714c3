"""``$reindex`` at system level: the background search reindex, started and watched.

Writing a SearchParameter starts one (:func:`reindex_after_write`, called by the dispatcher
once the write committed); ``GET [base]/$reindex`` reports its progress as a Parameters
resource, ``POST`` starts one. Not an R4 operation: HAPI FHIR's ``$reindex`` has the same role
(https://hapifhir.io/hapi-fhir/docs/server_jpa/search.html).
"""

from __future__ import annotations

from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.operations import Operation
from yteso.fhir.errors import NotSupported
from yteso.fhir.types import Json
from yteso.store.instants import format_instant
from yteso.store.reindex import ReindexStatus, background_reindex
from yteso.store.sql_store import SqlStore

DEFINITION = "http://fhir.yteso.vn/OperationDefinition/reindex"
SEARCH_PARAMETER = "SearchParameter"


def _parameters(status: ReindexStatus) -> Json:
    values: list[Json] = [
        {"name": "state", "valueCode": status.state},
        {"name": "done", "valueInteger": status.done},
        {"name": "runs", "valueInteger": status.runs},
    ]
    if status.total is not None:
        values.append({"name": "total", "valueInteger": status.total})
    if status.started is not None:
        values.append({"name": "started", "valueInstant": format_instant(status.started)})
    if status.finished is not None:
        values.append({"name": "finished", "valueInstant": format_instant(status.finished)})
    if status.error is not None:
        values.append({"name": "error", "valueString": status.error})
    return {"resourceType": "Parameters", "parameter": values}


def reindex_operation(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    if not isinstance(ctx.store, SqlStore):
        raise NotSupported("this store cannot reindex")
    job = background_reindex(ctx.store)
    status = job.start() if request.method == "POST" else job.status()
    return FhirResponse(202 if request.method == "POST" else 200, resource=_parameters(status))


def _touches_search_parameters(request: FhirRequest) -> bool:
    if request.resource_type == SEARCH_PARAMETER:
        return True
    body = request.body
    if request.resource_type is not None or not isinstance(body, dict):
        return False
    entries = body.get("entry") if body.get("resourceType") == "Bundle" else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        resource, url = entry.get("resource"), (entry.get("request") or {}).get("url", "")
        if isinstance(resource, dict) and resource.get("resourceType") == SEARCH_PARAMETER:
            return True
        if isinstance(url, str) and url.startswith(SEARCH_PARAMETER):
            return True
    return False


def reindex_after_write(ctx: ApiContext, request: FhirRequest, status: int) -> None:
    """Start a background reindex after a committed write that touched a SearchParameter."""
    if status < 400 and isinstance(ctx.store, SqlStore) and _touches_search_parameters(request):
        background_reindex(ctx.store).start()


REINDEX = Operation(
    name="reindex",
    definition=DEFINITION,
    handler=reindex_operation,
    system=True,
    methods=frozenset({"GET", "POST"}),
    affects_state=True,
)
