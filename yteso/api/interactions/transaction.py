"""batch and transaction: ``POST [base]`` with a Bundle — https://hl7.org/fhir/R4/http.html#transaction

A transaction runs in ONE store session: conditional creates, conditional updates and
conditional references are resolved first, fullUrls of new resources get their ids and every
reference is rewritten (:mod:`yteso.fhir.bundles`), then entries run DELETE, POST, PUT/PATCH,
GET through the same interaction code as single requests. The first failure aborts it all
(nothing is written) with that entry's status and OperationOutcome. Batch entries are
independent: each runs in its own session and fails on its own.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from http import HTTPStatus

import orjson

from yteso.api.bundle_builders import bundle
from yteso.api.conditional import conditional_matches
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.headers import etag, instant
from yteso.api.negotiation import JSON_PATCH
from yteso.api.results import write_response
from yteso.api.routing import parse_target, relative_path
from yteso.api.transient_errors import as_transient_conflict
from yteso.fhir.bundles import (
    BUNDLE_KINDS,
    PlannedEntry,
    assign_identities,
    check_duplicates,
    conditional_references,
    processing_order,
    read_entries,
    rewrite_references,
)
from yteso.fhir.errors import FhirError, Invalid, Issue, PreconditionFailed
from yteso.fhir.types import Json
from yteso.store.base import StoreSession
from yteso.store.resource_ids import new_resource_id

Dispatch = Callable[[ApiContext, FhirRequest], FhirResponse]


def _patch_body(resource: Json) -> tuple[object, str]:
    """R4 carries a JSON Patch in a Binary (https://hl7.org/fhir/R4/http.html#patch)."""
    if resource.get("resourceType") != "Binary":
        return resource, "application/fhir+json"
    try:
        return orjson.loads(base64.b64decode(str(resource.get("data", "")))), JSON_PATCH
    except (binascii.Error, ValueError) as exc:
        raise Invalid("The Binary of a PATCH entry holds no JSON Patch") from exc


def entry_request(
    ctx: ApiContext,
    entry: PlannedEntry,
    resource: Json | None,
    prefer: str | None,
    assigned_id: str | None = None,
) -> FhirRequest:
    """The entry as the request it would be alone; ``assigned_id``: the id a transaction chose
    for a POST or PUT entry in advance."""
    if entry.method == "POST" and entry.url in ctx.resource_types:
        # ``POST Type``, most entries of a transaction: what parse_target would give, built
        # once (the URL parse and two dataclass copies cost ~10 µs per entry)
        return FhirRequest(
            "POST",
            entry.url,
            body=resource,
            content_type="application/fhir+json",
            if_match=entry.if_match,
            if_none_match=entry.if_none_match,
            if_modified_since=entry.if_modified_since,
            if_none_exist=entry.if_none_exist,
            prefer_return=prefer,
            assigned_id=assigned_id,
        )
    path, query = relative_path(entry.url, ctx.base_url)
    target = parse_target(entry.method, path, query, ctx.resource_types)
    if target.resource_type is None or (target.operation == "_search" and entry.method != "GET"):
        raise Invalid(f"Entry {entry.index}: {entry.method} {entry.url} is not allowed in a Bundle")
    body: object = resource
    content_type = "application/fhir+json"
    if entry.method == "PATCH" and resource is not None:
        body, content_type = _patch_body(resource)
    return replace(
        target,
        body=body,
        content_type=content_type,
        if_match=entry.if_match,
        if_none_match=entry.if_none_match,
        if_modified_since=entry.if_modified_since,
        if_none_exist=entry.if_none_exist,
        prefer_return=prefer,
        assigned_id=assigned_id,
    )


@lru_cache(maxsize=32)
def _status_text(code: int) -> str:
    status = HTTPStatus(code)
    return f"{status.value} {status.phrase}"


def response_entry(ctx: ApiContext, response: FhirResponse) -> Json:
    result: Json = {"status": _status_text(response.status)}
    entry: Json = {}
    if response.location:
        result["location"] = response.location
    if response.stored is not None:
        stored = response.stored
        entry["fullUrl"] = f"{ctx.base_url}/{stored.resource_type}/{stored.id}"
        result["etag"] = etag(stored.version)
        result["lastModified"] = instant(stored.last_updated)
    if response.outcome is not None:
        result["outcome"] = response.outcome
    if response.raw is not None:
        entry["resource"] = orjson.Fragment(response.raw)
    elif response.resource is not None:
        entry["resource"] = response.resource
    entry["response"] = result
    return entry


def _failure_entry(error: FhirError) -> Json:
    status = HTTPStatus(error.status)
    return {"response": {"status": f"{status.value} {status.phrase}", "outcome": error.outcome()}}


def _resolve_conditional_writes(
    ctx: ApiContext, session: StoreSession, entries: list[PlannedEntry]
) -> dict[str, str]:
    """fullUrl → ``Type/id`` for conditional creates and updates (existing match or new id)."""
    found: dict[str, str] = {}
    for entry in entries:
        criteria = entry.if_none_exist if entry.method == "POST" else None
        if entry.method == "PUT" and entry.is_conditional:
            criteria = entry.url.split("?", 1)[1]
        if criteria is None or not entry.full_url or entry.resource is None:
            continue
        resource_type = str(entry.resource.get("resourceType"))
        permission = "r" if entry.method == "POST" else "u"  # a create's match is handed back
        matches = conditional_matches(ctx, session, resource_type, criteria, permission)
        if len(matches) > 1:
            raise PreconditionFailed(
                f"Entry {entry.index}: several {resource_type} match {criteria!r}"
            )
        if matches:
            found[entry.full_url] = f"{resource_type}/{matches[0].id}"
        elif entry.method == "PUT" and "id" not in entry.resource:
            found[entry.full_url] = f"{resource_type}/{new_resource_id()}"  # created by the PUT
    return found


def _resolve_conditional_references(
    ctx: ApiContext, session: StoreSession, entries: list[PlannedEntry]
) -> dict[str, str]:
    """``Type?criteria`` references → ``Type/id`` of their single match (else 412)."""
    found: dict[str, str] = {}
    for entry in entries:
        for reference in conditional_references(entry.resource):
            resource_type, _, criteria = reference.partition("?")
            matches = conditional_matches(ctx, session, resource_type, criteria, "r")
            if len(matches) != 1:
                raise PreconditionFailed(
                    f"Entry {entry.index}: the reference {reference!r} matches {len(matches)} "
                    "resources; it must match exactly one",
                    expression=f"Bundle.entry[{entry.index}].resource",
                )
            found[reference] = f"{resource_type}/{matches[0].id}"
    return found


def _with_entry_context(error: FhirError, entry: PlannedEntry) -> FhirError:
    where = Issue(
        "error",
        error.code,
        f"Entry {entry.index} ({entry.method} {entry.url}) failed; the transaction was not applied",
        (f"Bundle.entry[{entry.index}]",),
    )
    return type(error)(issues=[*error.issues, where])


def _run_transaction(
    ctx: ApiContext, entries: list[PlannedEntry], dispatch: Dispatch, prefer: str | None
) -> list[Json]:
    check_duplicates(entries)
    responses: dict[int, Json] = {}
    with ctx.store.session() as session:
        inner = ctx.in_session(session)
        mapping = assign_identities(entries, new_id=new_resource_id)
        mapping.update(_resolve_conditional_writes(inner, session, entries))
        mapping.update(_resolve_conditional_references(inner, session, entries))
        creates: list[tuple[PlannedEntry, FhirRequest]] = []  # consecutive plain creates
        for entry in processing_order(entries):
            try:
                request = _planned_request(inner, entry, mapping, prefer)
            except FhirError:
                _run_entries(inner, creates, dispatch, responses)  # their failure comes first
                raise
            if _is_plain_create(request):
                creates.append((entry, request))
                continue
            _run_entries(inner, creates, dispatch, responses)
            _run_entries(inner, [(entry, request)], dispatch, responses)
        _run_entries(inner, creates, dispatch, responses)
    return [responses[i] for i in range(len(entries))]


def _planned_request(
    ctx: ApiContext, entry: PlannedEntry, mapping: dict[str, str], prefer: str | None
) -> FhirRequest:
    resource = rewrite_references(entry.resource, mapping) if entry.resource else None
    target = mapping.get(entry.full_url or "")
    assigned_id = None
    if target and entry.method in ("POST", "PUT"):
        assigned_id = target.split("/", 1)[1]
    return entry_request(ctx, entry, resource, prefer, assigned_id)


def _is_plain_create(request: FhirRequest) -> bool:
    """A POST with nothing conditional: it can join a batch insert. Its ``assigned_id``, if
    any, is a fresh ``new_resource_id`` (conditional creates are the only POSTs mapped to an
    existing resource), as unique as a server id."""
    return (
        request.method == "POST"
        and request.id is None
        and request.operation is None
        and request.if_none_exist is None
        and isinstance(request.body, dict)
        and request.body.get("resourceType") == request.resource_type
    )


def _run_entries(
    ctx: ApiContext,
    pending: list[tuple[PlannedEntry, FhirRequest]],
    dispatch: Dispatch,
    responses: dict[int, Json],
) -> None:
    """Run ``pending`` (emptying it): plain creates as one ``create_many`` batch insert (2-2.5x
    cheaper per resource on PostgreSQL); one by one through ``dispatch`` otherwise, or when
    the batch is invalid, so the first failing entry reports exactly as it would alone."""
    batch, pending[:] = list(pending), []
    if len(batch) > 1 and ctx.session is not None:
        resources = [  # a POST's own id is ignored (the body is the transaction's copy)
            request.body if "id" not in request.body else _without_id(request.body)
            for _, request in batch
            if isinstance(request.body, dict)
        ]
        ids = [request.assigned_id or new_resource_id() for _, request in batch]
        try:
            results = ctx.session.create_many(resources, ids=ids)
        except Invalid:
            results = []  # nothing was written: validation comes first
        for (entry, request), result in zip(batch, results, strict=False):
            responses[entry.index] = response_entry(ctx, write_response(ctx, request, result))
        if results:
            return
    for entry, request in batch:
        try:
            responses[entry.index] = response_entry(ctx, dispatch(ctx, request))
        except FhirError as error:
            raise _with_entry_context(error, entry) from error


def _without_id(resource: Json) -> Json:
    return {key: value for key, value in resource.items() if key != "id"}


def _run_batch(
    ctx: ApiContext, entries: list[PlannedEntry], dispatch: Dispatch, prefer: str | None
) -> list[Json]:
    responses: list[Json] = []
    for entry in entries:
        try:
            with ctx.store.session() as session:
                inner = ctx.in_session(session)
                resource = entry.resource
                if resource is not None:  # conditional references resolve per entry in a batch
                    mapping = _resolve_conditional_references(inner, session, [entry])
                    resource = rewrite_references(resource, mapping) if mapping else resource
                request = entry_request(inner, entry, resource, prefer)
                responses.append(response_entry(inner, dispatch(inner, request)))
        except FhirError as error:
            responses.append(_failure_entry(error))
        except Exception as unexpected:
            conflict = as_transient_conflict(unexpected)
            if conflict is None:
                raise
            responses.append(_failure_entry(conflict))
    return responses


def transaction(ctx: ApiContext, request: FhirRequest, dispatch: Dispatch) -> FhirResponse:
    if not isinstance(request.body, dict):
        raise Invalid("POST to the base needs a batch or transaction Bundle")
    kind, entries = read_entries(request.body)
    run = _run_transaction if kind == "transaction" else _run_batch
    responses = run(ctx, entries, dispatch, request.prefer_return)
    links = [{"relation": "self", "url": ctx.base_url}]
    return FhirResponse(200, resource=bundle(BUNDLE_KINDS[kind], links, responses, None))


__all__ = ["entry_request", "response_entry", "transaction"]
