"""Stored SQL-on-FHIR ViewDefinitions: ``[base]/ViewDefinition[/id]`` over R4 ``Library``.

https://sql-on-fhir.org/ig/latest/StructureDefinition-ViewDefinition.html. ViewDefinition is not
an R4 resource type, so the store (which validates every write against R4) keeps each one as a
``Library`` with the same id: ``type`` carries the coding marking it a view, ``url``, ``name``,
``title`` and ``status`` are copied (searchable as Library's), and ``content[0].data`` holds the
ViewDefinition JSON exactly as accepted (base64). The API reads and writes ViewDefinitions; the
Library is the storage form, so versions, history, durability and the audit come with it. A
ViewDefinition is checked by :func:`yteso.warehouse.read_view` (every path parses, unionAll
columns agree, ...) plus its required elements before it is stored: a bad one is an
OperationOutcome naming the element, and nothing is written.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import orjson

from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.search_params import parse_search
from yteso.fhir.errors import Conflict, Gone, Invalid, NotFound, NotSupported
from yteso.fhir.types import Json
from yteso.store.base import StoredVersion
from yteso.warehouse import read_view

VIEW_TYPE = "ViewDefinition"
VIEW_PROFILE = "https://sql-on-fhir.org/ig/StructureDefinition/ViewDefinition"
MARKER = {"system": VIEW_PROFILE, "code": VIEW_TYPE}
LIBRARY_TYPE = {
    "system": "http://terminology.hl7.org/CodeSystem/library-type",
    "code": "logic-library",
}
STATUSES = frozenset({"draft", "active", "retired", "unknown"})
COPIED = ("url", "name", "title")  # ViewDefinition elements that are Library's too
SEARCHED = frozenset({"url", "name", "title", "status", "_id", "_count"})


def check_view(view: Any, resource_types: frozenset[str]) -> Json:
    """``view`` if it is a ViewDefinition we can run; else :class:`Invalid` naming the element."""
    if not isinstance(view, dict) or view.get("resourceType") != VIEW_TYPE:
        raise Invalid("a ViewDefinition is expected", expression="resourceType")
    read_view(view)
    if view["resource"] not in resource_types:
        raise Invalid(
            f"{view['resource']!r} is not a resource type of this server",
            expression="ViewDefinition.resource",
        )
    status = view.get("status")
    if status is not None and status not in STATUSES:
        raise Invalid(
            f"status must be one of {', '.join(sorted(STATUSES))}",
            expression="ViewDefinition.status",
        )
    for key in (*COPIED, "status"):
        if key in view and not isinstance(view[key], str):
            raise Invalid(f"{key} must be a string", expression=f"ViewDefinition.{key}")
    return view


def is_view_library(resource: Json) -> bool:
    codings = (resource.get("type") or {}).get("coding") or []
    return resource.get("resourceType") == "Library" and MARKER in codings


def to_library(view: Json, id: str | None) -> Json:
    """The Library that stores ``view`` (its id and meta are the Library's own)."""
    body = {key: value for key, value in view.items() if key not in ("id", "meta")}
    library: Json = {
        "resourceType": "Library",
        "status": view.get("status", "unknown"),
        "type": {"coding": [LIBRARY_TYPE, MARKER], "text": VIEW_TYPE},
        "content": [
            {
                "contentType": "application/json",
                "data": base64.b64encode(orjson.dumps(body)).decode("ascii"),
            }
        ],
    }
    if id is not None:
        library["id"] = id
    for key in COPIED:
        if key in view:
            library[key] = view[key]
    return library


def from_library(stored: StoredVersion) -> Json:
    """The ViewDefinition a stored Library holds, with the Library's id and meta."""
    library = stored.resource()
    data = library["content"][0]["data"]
    view: Json = {"resourceType": VIEW_TYPE, "id": stored.id}
    meta = dict(library.get("meta") or {})
    view["meta"] = {k: v for k, v in meta.items() if k in ("versionId", "lastUpdated")}
    view.update({k: v for k, v in orjson.loads(base64.b64decode(data)).items() if k != "id"})
    view["resourceType"] = VIEW_TYPE
    return view


def stored_view(ctx: ApiContext, id: str) -> tuple[StoredVersion, Json]:
    """The stored ViewDefinition ``id`` (NotFound when absent, deleted or not a view)."""
    stored = ctx.read("Library", id)
    if stored.deleted or not is_view_library(stored.resource()):
        raise NotFound(f"ViewDefinition/{id} is not known")
    return stored, from_library(stored)


def _headers(ctx: ApiContext, stored: StoredVersion, location: bool) -> dict[str, str]:
    headers = {"ETag": f'W/"{stored.version}"'}
    if location:
        headers["Location"] = f"{ctx.base_url}/{VIEW_TYPE}/{stored.id}/_history/{stored.version}"
    return headers


def handle(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    """Read, create, update, delete and search of ViewDefinitions."""
    if request.version is not None or request.operation is not None:
        raise NotSupported(f"{request.method} of ViewDefinition versions or history")
    if request.id is not None and request.method == "GET":
        stored, view = stored_view(ctx, request.id)
        return FhirResponse(200, resource=view, headers=_headers(ctx, stored, False))
    if request.method in ("PUT", "POST") and request.body is not None:
        return _write(ctx, request)
    if request.id is not None and request.method == "DELETE":
        stored_view(ctx, request.id)
        with ctx.writing() as session:
            session.delete("Library", request.id)
        return FhirResponse(204)
    if request.id is None and request.method == "GET":
        return _search(ctx, request)
    raise NotSupported(f"{request.method} is not allowed on this URL")


def _write(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    view = check_view(request.body, ctx.resource_types)
    if request.method == "PUT":
        if request.id is None:
            raise NotSupported("conditional update of ViewDefinitions")
        if view.get("id") != request.id:
            raise Invalid(
                f"id {view.get('id')!r} is not the URL's {request.id!r}",
                expression="ViewDefinition.id",
            )
    elif request.id is not None:
        raise NotSupported("POST to a ViewDefinition instance")
    with ctx.writing() as session:
        if request.id is not None:
            try:
                current = session.read("Library", request.id)
            except (NotFound, Gone):
                current = None
            if (
                current is not None
                and not current.deleted
                and not is_view_library(current.resource())
            ):
                raise Conflict(f"Library/{request.id} exists and does not hold a ViewDefinition")
            result = session.update(to_library(view, request.id))
        else:
            result = session.create(to_library(view, None))
    status = 201 if result.created else 200
    return FhirResponse(
        status, resource=from_library(result.stored), headers=_headers(ctx, result.stored, True)
    )


def _search(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    unknown = [
        key
        for key, _ in request.params
        if key.split(":")[0] not in SEARCHED and not key.startswith("_")
    ]
    if unknown:
        raise Invalid(f"ViewDefinition searches by {', '.join(sorted(SEARCHED))}; not {unknown[0]}")
    marker = ("type", f"{VIEW_PROFILE}|{VIEW_TYPE}")
    params = (*((k, v) for k, v in request.params if k.split(":")[0] in SEARCHED), marker)
    query = parse_search(params, ctx.supported_params("Library"), strict=True).query
    query = replace(query, count=query.count or 100)
    found = ctx.store.search("Library", query)
    guard = ctx.guard
    entries = [
        {
            "fullUrl": f"{ctx.base_url}/{VIEW_TYPE}/{stored.id}",
            "resource": from_library(stored),
            "search": {"mode": "match"},
        }
        for stored in found.matches
        if not stored.deleted
        and is_view_library(stored.resource())
        and (guard is None or guard.visible(stored, "s"))
    ]
    bundle: Json = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [
            {"relation": "self", "url": f"{ctx.base_url}/{VIEW_TYPE}?{urlencode(request.params)}"}
        ],
        "entry": entries,
    }
    return FhirResponse(200, resource=bundle)


__all__ = ["VIEW_TYPE", "check_view", "from_library", "handle", "stored_view", "to_library"]
