"""FHIR Bulk Data Access 2.0 ``$export`` — https://hl7.org/fhir/uv/bulkdata/export.html

Kick-off at ``[base]/$export``, ``[base]/Patient/$export`` and ``[base]/Group/[id]/$export``
(``Prefer: respond-async`` required) answers 202 with a ``Content-Location`` status URL
(``[base]/$export-poll-status?_job=ID``): GET polls (202 + ``X-Progress`` while running, 200 +
manifest when done), DELETE cancels and removes the files. Files are served by
``[base]/$export-file?_job=ID&_file=Type.ndjson`` to the token subject that started the job.
Each resource goes out only if the caller's guard lets it be read, as in a search.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from yteso.api.access import RequestGuard
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.operations import Operation
from yteso.api.operations.export_jobs import ERROR_FILE, ExportJobs, ExportRequest
from yteso.api.routing import parse_query
from yteso.api.search_params import parse_search
from yteso.fhir.errors import Invalid, Issue, NotFound, Processing, operation_outcome
from yteso.fhir.types import Json
from yteso.store.base import SearchQuery, StoredVersion
from yteso.store.instants import parse_instant
from yteso.store.ndjson_export import Accept, ExportPlan, group_patients

NDJSON_TYPES = frozenset({"application/fhir+ndjson", "application/ndjson", "application/x-ndjson"})
OUTPUT_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
FILE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}(\.errors)?\.ndjson")
#: the kick-off parameters this server applies (``_format``/``_pretty``: the response's)
KICK_OFF_PARAMETERS = frozenset(
    {"_type", "_since", "_outputFormat", "_typeFilter", "_format", "_pretty"}
)
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition"


def _owner(guard: RequestGuard | None) -> str:
    """Who may poll and download: the token's subject (open access in tests: anyone)."""
    principal = getattr(guard, "principal", None)
    subject = getattr(principal, "subject", None)
    return subject if isinstance(subject, str) else "open-access"


def _types(ctx: ApiContext, request: FhirRequest) -> tuple[str, ...] | None:
    names = [t.strip() for v in request.params if v[0] == "_type" for t in v[1].split(",")]
    names = [name for name in names if name]
    for name in names:
        if name not in ctx.resource_types:
            raise Invalid(f"_type: unknown resource type {name!r}", expression="_type")
    return tuple(dict.fromkeys(names)) or None


def _since(request: FhirRequest) -> datetime | None:
    value = request.param("_since")
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as error:
        raise Invalid(f"_since: {value!r} is not an instant", expression="_since") from error


def parse_type_filters(
    values: Iterable[str],
    resource_types: Collection[str],
    supported: Callable[[str], frozenset[str]],
    types: tuple[str, ...] | None = None,
) -> dict[str, tuple[SearchQuery, ...]]:
    """``_typeFilter`` values (``Type?query``) as search queries per type, strictly parsed
    against the parameters ``supported`` by the store (shared with ``yteso export``)."""
    filters: dict[str, list[SearchQuery]] = {}
    for value in values:
        resource_type, mark, query = value.partition("?")
        if not mark or resource_type not in resource_types:
            raise Invalid(f"_typeFilter {value!r} is not Type?query", expression="_typeFilter")
        if types is not None and resource_type not in types:
            raise Invalid(f"_typeFilter on {resource_type}, not in _type", expression="_typeFilter")
        parsed = parse_search(parse_query(query), supported(resource_type), strict=True)
        filters.setdefault(resource_type, []).append(parsed.query)
    return {t: tuple(queries) for t, queries in filters.items()}


def _check_async(request: FhirRequest) -> None:
    if not request.prefer_async:
        raise Invalid("$export needs the header 'Prefer: respond-async'")
    output_format = request.param("_outputFormat")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise Invalid(f"_outputFormat {output_format!r} is not supported (NDJSON only)")


def _ignored(request: FhirRequest) -> tuple[Json, ...]:
    """Unsupported kick-off parameters (``_elements``, ``includeAssociatedData``, ``patient``,
    unknown names): a 400 naming them, or with ``Prefer: handling=lenient`` ignored and reported
    as warnings in the manifest's ``error`` file (Bulk Data 2.0, Query Parameters)."""
    names = dict.fromkeys(n for n, _ in request.params if n not in KICK_OFF_PARAMETERS)
    lenient = request.prefer_lenient
    said = "was ignored" if lenient else "send 'Prefer: handling=lenient' to have it ignored"
    issues = [
        Issue(
            "warning" if lenient else "error",
            "not-supported",
            f"$export parameter {name!r} is not supported; {said}",
            (name,),
        )
        for name in names
    ]
    if issues and not lenient:
        raise Invalid(issues=issues)
    return (operation_outcome(issues),) if issues else ()


def _group_members(ctx: ApiContext, group_id: str) -> frozenset[str]:
    group = ctx.read("Group", group_id)
    if group.deleted:
        raise NotFound(f"Group/{group_id} is not known")
    return group_patients(group.resource())


def _readable(guard: RequestGuard | None) -> Accept | None:
    """The search guard, per resource, with the read permission ('r')."""
    if guard is None:
        return None
    restricted: dict[str, bool] = {}

    def accept(stored: StoredVersion) -> bool:
        kind = stored.resource_type
        if kind not in restricted:
            restricted[kind] = guard.restricted(kind, "r")
        return not restricted[kind] or guard.visible(stored, "r")

    return accept


def _request_url(ctx: ApiContext, request: FhirRequest) -> str:
    path = "/".join(p for p in (request.resource_type, request.id) if p)
    query = urlencode(request.params)
    return f"{ctx.base_url}/{path + '/' if path else ''}$export{'?' + query if query else ''}"


def export_operations(root: Path) -> list[Operation]:
    """``$export``, its status URL and its file URL, with jobs kept under ``root``."""
    jobs = ExportJobs(root)

    def kick_off(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
        _check_async(request)
        outcomes = _ignored(request)
        if request.resource_type == "Group" and request.id is None:
            raise NotFound("Group-level $export needs a Group id: Group/[id]/$export")
        if request.resource_type == "Patient" and request.id is not None:
            raise NotFound("$export is at Patient/$export, not on one Patient")
        types = _types(ctx, request)
        filters = [value for name, value in request.params if name == "_typeFilter"]
        plan = ExportPlan(
            types,
            _since(request),
            parse_type_filters(filters, ctx.resource_types, ctx.supported_params, types),
            patient_level=request.resource_type == "Patient",
            patients=_group_members(ctx, request.id) if request.id is not None else None,
        )
        export = ExportRequest(
            owner=_owner(ctx.guard),
            request_url=_request_url(ctx, request),
            plan=plan,
            accept=_readable(ctx.guard),
            outcomes=outcomes,
        )
        job = jobs.start(ctx.store, export)
        status_url = f"{ctx.base_url}/$export-poll-status?_job={job}"
        return FhirResponse(202, headers={"Content-Location": status_url})

    def owned_state(ctx: ApiContext, request: FhirRequest) -> tuple[str, dict[str, Any]]:
        job = request.param("_job") or ""
        state = jobs.state(job)
        if state is None or state["owner"] != _owner(ctx.guard):
            raise NotFound(f"No export job {job!r}")
        return job, state

    def poll_status(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
        job, state = owned_state(ctx, request)
        if request.method == "DELETE":
            jobs.cancel(job)
            return FhirResponse(202)
        if state["status"] == "in-progress":
            progress = f"{state['progress']} resources written"
            return FhirResponse(202, headers={"X-Progress": progress, "Retry-After": "1"})
        if state["status"] != "completed":
            raise Processing(f"The export failed: {state.get('message', 'unknown error')}")
        manifest = _manifest(ctx.base_url, job, state)
        return FhirResponse(200, resource=manifest, headers={"Content-Type": "application/json"})

    def export_file(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
        job, state = owned_state(ctx, request)
        name = request.param("_file") or ""
        folder = jobs.folder(job)
        if state["status"] != "completed" or folder is None or not FILE_NAME.fullmatch(name):
            raise NotFound(f"No file {name!r} in export job {job}")
        path = folder / name
        if not path.is_file():
            raise NotFound(f"No file {name!r} in export job {job}")
        return FhirResponse(200, file=path, headers={"Content-Type": "application/fhir+ndjson"})

    return [
        Operation(
            name="export",
            definition=f"{BULK_DATA}/export",
            handler=kick_off,
            system=True,
            type=True,
            instance=True,
            resource_types=frozenset({"Patient", "Group"}),
            methods=frozenset({"GET"}),
        ),
        Operation(
            name="export-poll-status",
            definition=f"{BULK_DATA}/export-poll-status",
            handler=poll_status,
            system=True,
            methods=frozenset({"GET", "DELETE"}),
        ),
        Operation(
            name="export-file",
            definition=f"{BULK_DATA}/export-file",
            handler=export_file,
            system=True,
            methods=frozenset({"GET"}),
            # a client's file request asks for NDJSON (the spec's default Accept)
            media_types=NDJSON_TYPES,
        ),
    ]


def _manifest(base_url: str, job: str, state: dict[str, Any]) -> Json:
    counts: dict[str, int] = state.get("counts", {})
    errors: int = state.get("errors", 0)  # OperationOutcomes of ignored parameters
    file_url = f"{base_url}/$export-file?_job={job}&_file="
    return {
        "transactionTime": state["transactionTime"],
        "request": state["request"],
        "requiresAccessToken": True,
        "output": [
            {"type": kind, "url": f"{file_url}{kind}.ndjson", "count": count}
            for kind, count in sorted(counts.items())
        ],
        "error": [{"type": "OperationOutcome", "url": f"{file_url}{ERROR_FILE}", "count": errors}]
        if errors
        else [],
    }


__all__ = ["OUTPUT_FORMATS", "export_operations", "parse_type_filters"]
