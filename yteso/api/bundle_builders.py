"""Building searchset and history Bundles from store results.

https://hl7.org/fhir/R4/bundle.html, https://hl7.org/fhir/R4/http.html#paging (``self``/
``next``/``previous`` links) and https://hl7.org/fhir/R4/http.html#history (entries carry
``request`` and ``response``; deletions have no resource). Unprojected resources are embedded
as their stored bytes (``orjson.Fragment``): no parse and no reserialisation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson

from yteso.api.exchange import ApiContext, FhirRequest
from yteso.api.headers import etag, instant
from yteso.api.results import project
from yteso.fhir.types import Json
from yteso.store.base import SearchResult, StoredVersion

_PAGING_PARAMS = frozenset({"_cursor"})


def request_path(request: FhirRequest) -> str:
    parts = [request.resource_type, request.id, request.operation]
    path = "/".join(p for p in parts if p and p != "_search")
    return "/" + path if path else ""


def page_url(ctx: ApiContext, request: FhirRequest, cursor: str | None = None) -> str:
    params = [(k, v) for k, v in request.params if k not in _PAGING_PARAMS]
    if cursor is not None:
        params.append(("_cursor", cursor))
    query = urlencode(params)
    return ctx.base_url + request_path(request) + ("?" + query if query else "")


def paging_links(ctx: ApiContext, request: FhirRequest, result: SearchResult) -> list[Json]:
    links: list[Json] = [
        {"relation": "self", "url": page_url(ctx, request, request.param("_cursor"))}
    ]
    if result.next_cursor:
        links.append({"relation": "next", "url": page_url(ctx, request, result.next_cursor)})
    if result.previous_cursor:
        links.append(
            {"relation": "previous", "url": page_url(ctx, request, result.previous_cursor)}
        )
    return links


def embedded(stored: StoredVersion, summary: str | None, elements: str | None) -> Any:
    if summary in (None, "false") and not elements:
        return orjson.Fragment(stored.body)
    return project(stored.resource(), summary, elements)


def bundle(kind: str, links: list[Json], entries: Iterable[Json], total: int | None) -> Json:
    out: Json = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(datetime.now(UTC))},
        "type": kind,
    }
    if total is not None:
        out["total"] = total
    out["link"] = links
    listed = list(entries)
    if listed:  # ele-1: no empty arrays
        out["entry"] = listed
    return out


def _history_entry(ctx: ApiContext, stored: StoredVersion) -> Json:
    full_url = f"{ctx.base_url}/{stored.resource_type}/{stored.id}"
    entry: Json = {"fullUrl": full_url}
    if not stored.deleted:
        entry["resource"] = orjson.Fragment(stored.body)
    method = "DELETE" if stored.deleted else stored.method
    url = stored.resource_type if method == "POST" else f"{stored.resource_type}/{stored.id}"
    status = "201 Created" if method == "POST" else "204 No Content" if stored.deleted else "200 OK"
    entry["request"] = {"method": method, "url": url}
    entry["response"] = {
        "status": status,
        "etag": etag(stored.version),
        "lastModified": instant(stored.last_updated),
    }
    return entry


def history_bundle(ctx: ApiContext, request: FhirRequest, result: SearchResult) -> Json:
    entries = (_history_entry(ctx, stored) for stored in result.matches)
    return bundle("history", paging_links(ctx, request, result), entries, result.total)


__all__ = ["bundle", "embedded", "history_bundle", "page_url", "paging_links", "request_path"]
