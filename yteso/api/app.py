"""The FHIR REST API as a Starlette application — https://hl7.org/fhir/R4/http.html

One catch-all route: the path is parsed into a :class:`FhirRequest`, the interaction runs in a
worker thread (the store is synchronous), and the :class:`FhirResponse` becomes HTTP. Every
error is an OperationOutcome with its status; nothing a client sends can produce a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from yteso.api.access import AccessControl, RequestGuard
from yteso.api.dispatch import dispatch, level
from yteso.api.exchange import ApiContext, ApiSettings, FhirResponse, SearchParamsOf
from yteso.api.headers import version_headers
from yteso.api.http_requests import fhir_request, route_path
from yteso.api.interactions.capabilities import capability_statement
from yteso.api.negotiation import FHIR_JSON_UTF8, check_response_format
from yteso.api.openapi import openapi_description
from yteso.api.operations import Operation, builtin_operations, operation_table
from yteso.api.transient_errors import as_transient_conflict
from yteso.api.view_definitions import VIEW_TYPE
from yteso.fhir import json_codec
from yteso.fhir.definitions import resource_types, value_set_codes
from yteso.fhir.errors import FhirError, Invalid, Processing, Unauthorized
from yteso.store.base import Store

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# read and vread are one primary-key lookup (~15 us on SQLite, ~70-140 us on PostgreSQL): run
# them on the event loop, since a hop to a worker thread costs more (~250 us measured) than the
# lookup itself. Everything else (writes, searches, transactions) runs in the thread pool.
INLINE_LEVELS = frozenset({"instance", "version"})


def _headers(response: FhirResponse) -> dict[str, str]:
    headers = dict(response.headers)
    if response.stored is not None:
        headers.update(version_headers(response.stored))
    if response.location is not None:
        headers["Location"] = response.location
    return headers


def render(response: FhirResponse, pretty: bool) -> Response:
    """A FhirResponse as HTTP; stored bytes go out untouched unless ``_pretty`` asks."""
    headers = _headers(response)
    if response.status in (204, 304):
        return Response(status_code=response.status, headers=headers)
    if response.file is not None:
        media_type = headers.pop("Content-Type", "application/octet-stream")
        return FileResponse(response.file, response.status, headers, media_type=media_type)
    option = orjson.OPT_INDENT_2 if pretty else 0
    media_type = headers.pop("Content-Type", FHIR_JSON_UTF8)  # an operation's own format
    if response.raw is not None:
        raw = response.raw
        pretty = pretty and media_type == FHIR_JSON_UTF8
        body = json_codec.dumps(json_codec.loads(raw), option=option) if pretty else raw
    elif response.resource is not None:
        body = json_codec.dumps(response.resource, option=option)
    elif response.outcome is not None:
        body = json_codec.dumps(response.outcome, option=option)
    else:
        body = b""
    return Response(body, status_code=response.status, headers=headers, media_type=media_type)


def error_response(error: FhirError, pretty: bool = False) -> Response:
    headers = {}
    if isinstance(error, Unauthorized):  # RFC 6750 section 3
        headers["WWW-Authenticate"] = 'Bearer realm="fhir", error="invalid_token"'
    return render(FhirResponse(error.status, resource=error.outcome(), headers=headers), pretty)


PUBLIC_PATHS = frozenset({"/metadata"})
OPENAPI_PATH = "/openapi.json"


def _guard(access: AccessControl, request: Request, path: str) -> RequestGuard | None:
    """The caller's guard, from its Authorization header; the CapabilityStatement is public."""
    if path.rstrip("/") in PUBLIC_PATHS and request.method in ("GET", "HEAD"):
        return None
    client = request.client.host if request.client else ""
    return access.guard_for(request.headers.get("authorization"), client)


RESOURCE_TYPES_VALUE_SET = "http://hl7.org/fhir/ValueSet/resource-types"


def served_resource_types() -> frozenset[str]:
    """Concrete resource types that are also codes of R4's resource-types value set (the
    definitions also carry types, such as SubscriptionStatus, that R4 4.0.1 does not list)."""
    codes = value_set_codes(RESOURCE_TYPES_VALUE_SET)
    return resource_types() & codes if codes else resource_types()


def create_fhir_app(
    store: Store,
    *,
    access: AccessControl,
    base_url_path: str = "/fhir",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    operations: Sequence[Operation] = (),
    search_params: SearchParamsOf | None = None,
    auth_base_path: str = "/auth",
) -> Starlette:
    """The FHIR API over ``store``; mount it at ``base_url_path`` (or serve it standalone).

    ``access`` is required: :class:`yteso.api.SmartAccessControl` in production, and
    :data:`yteso.api.OPEN_ACCESS_FOR_TESTS` only where a test exercises interactions alone.
    ``[base]/openapi.json`` describes the API (public, like ``[base]/metadata``); its security
    schemes name the authorization server at ``auth_base_path``."""
    settings = ApiSettings(
        resource_types=served_resource_types() | {VIEW_TYPE},
        operations=operation_table([*builtin_operations(), *operations]),
        search_params=search_params or store.supported_search_params,
    )

    described: dict[str, Response] = {}  # by base URL (the Host header names it)

    def openapi(request: Request, base_path: str) -> Response:
        origin = _origin(request)
        if origin + base_path not in described:
            ctx = ApiContext(store, settings, origin + base_path)
            document = openapi_description(
                capability_statement(ctx), settings.operations, origin + auth_base_path
            )
            if len(described) > 16:  # a few host names at most; never grow without bound
                described.clear()
            described[origin + base_path] = Response(
                orjson.dumps(document), media_type="application/json"
            )
        return described[origin + base_path]

    async def endpoint(request: Request) -> Response:
        pretty = False
        try:
            path, base_path = route_path(request, base_url_path)
            if path == OPENAPI_PATH and request.method in ("GET", "HEAD"):
                return openapi(request, base_path)
            guard = _guard(access, request, path)
            fhir = await fhir_request(request, path, settings.resource_types, max_body_bytes)
            pretty = fhir.param("_pretty") == "true"
            operation = settings.operations.get(fhir.operation or "")
            if operation is None or not operation.produces(fhir.param("_format"), fhir.accept):
                check_response_format(fhir.accept, fhir.param("_format"))
            ctx = ApiContext(store, settings, _origin(request) + base_path, guard=guard)
            if fhir.method == "GET" and operation is None and level(fhir) in INLINE_LEVELS:
                return render(dispatch(ctx, fhir), pretty)
            return render(await run_in_threadpool(dispatch, ctx, fhir), pretty)
        except FhirError as error:
            return error_response(error, pretty)
        except RecursionError:
            return error_response(Invalid("The content is nested too deeply"), pretty)
        except OverflowError as overflow:  # e.g. a date at the end of year 9999 plus its range
            return error_response(Invalid(f"A value is out of range: {overflow}"), pretty)
        except Exception as unexpected:
            conflict = as_transient_conflict(unexpected)
            if conflict is not None:
                return error_response(conflict, pretty)
            logger.exception("unexpected error on %s %s", request.method, request.url.path)
            return error_response(Processing("Internal error; it has been logged"), pretty)

    return Starlette(routes=[Route("/{path:path}", AnyMethod(endpoint))])


class AnyMethod:
    """An ASGI app for a request handler that accepts every method, so that even an unknown one
    (OPTIONS, FOO) gets the FHIR 405 OperationOutcome rather than Starlette's plain-text one.
    HEAD is answered as GET without the body."""

    def __init__(self, handle: Callable[[Request], Awaitable[Response]]) -> None:
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        if scope["method"] == "HEAD":
            headers = {k: v for k, v in response.headers.items() if k != "content-length"}
            response = Response(status_code=response.status_code, headers=headers)
        await response(scope, receive, send)


def fhir_routes(fhir_app: ASGIApp, base_url_path: str = "/fhir") -> list[BaseRoute]:
    """Routes that put ``fhir_app`` at ``base_url_path``: the ``Mount`` for everything below it
    and a ``Route`` for the base itself, so ``POST [base]`` (batch/transaction) is answered
    instead of being redirected to ``[base]/`` (which Starlette's Mount alone would do)."""
    base = base_url_path.rstrip("/")
    return [Route(base, fhir_app), Mount(base, app=fhir_app)]


def _origin(request: Request) -> str:
    """``scheme://host`` from the scope and Host header (cheaper than building ``request.url``)."""
    host = next((v for k, v in request.scope["headers"] if k == b"host"), b"localhost")
    return f"{request.scope.get('scheme', 'http')}://{host.decode('latin-1')}"


__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_fhir_app", "error_response", "fhir_routes", "render"]
