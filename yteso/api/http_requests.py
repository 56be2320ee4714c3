"""From an HTTP request to a :class:`FhirRequest`: path, headers, and a size-limited body.

https://hl7.org/fhir/R4/http.html — the body is read with a limit (413 beyond it, never
buffered unbounded), its media type checked (415), its JSON parsed (400 when malformed).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
from starlette.requests import Request

from yteso.api.exchange import FhirRequest
from yteso.api.headers import parse_prefer, prefer_handling
from yteso.api.negotiation import FORM, JSON_PATCH, JSON_TYPES, check_body_type, media_type
from yteso.api.routing import parse_query, parse_target
from yteso.fhir import json_codec
from yteso.fhir.errors import Invalid, NotFound, TooLarge

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PATCH_TYPES = JSON_TYPES | {JSON_PATCH}
_SEARCH_TYPES = frozenset({FORM})


def route_path(request: Request, base_url_path: str) -> tuple[str, str]:
    """(the path below the FHIR base, the absolute base path) for mounted or standalone use."""
    path: str = request.scope["path"]
    root_path: str = request.scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        return path[len(root_path) :], root_path
    base = base_url_path.rstrip("/")
    if path == base or path.startswith(base + "/"):
        return path[len(base) :], base
    raise NotFound(f"{path} is not under the FHIR base {base}/")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The body ({declared} bytes) is above the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The body is above the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    try:
        return json_codec.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"The body is not valid JSON: {exc}") from exc


def _allowed_types(target: FhirRequest) -> frozenset[str]:
    if target.method == "PATCH":
        return _PATCH_TYPES
    if target.operation == "_search":
        return _SEARCH_TYPES
    return JSON_TYPES


def _with_body(target: FhirRequest, body: bytes, content_type: str) -> FhirRequest:
    if not body.strip():
        return target
    check_body_type(content_type, _allowed_types(target))
    if content_type == FORM:
        try:
            form = parse_query(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise Invalid("The form body is not UTF-8") from exc
        return replace(target, params=target.params + form)
    return replace(target, body=parse_json(body))


async def fhir_request(
    request: Request, path: str, resource_types: frozenset[str], body_limit: int
) -> FhirRequest:
    # ASGI header names are lowercase bytes; one dict beats repeated scans of the list.
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
    method = "GET" if request.method == "HEAD" else request.method
    target = parse_target(
        method,
        path,
        request.scope.get("query_string", b"").decode("latin-1"),
        resource_types,
    )
    prefer_return, strict = parse_prefer(headers.get("prefer"))
    content_type = media_type(headers.get("content-type"))
    target = replace(
        target,
        content_type=content_type,
        accept=headers.get("accept"),
        if_match=headers.get("if-match"),
        if_none_match=headers.get("if-none-match"),
        if_modified_since=headers.get("if-modified-since"),
        if_none_exist=headers.get("if-none-exist"),
        prefer_return=prefer_return,
        prefer_strict=strict,
        prefer_lenient=prefer_handling(headers.get("prefer")) == "lenient",
        prefer_async="respond-async" in (headers.get("prefer") or ""),
    )
    if request.method in BODY_METHODS:
        target = _with_body(target, await read_body(request, body_limit), content_type)
    return target


__all__ = ["fhir_request", "parse_json", "read_body", "route_path"]
