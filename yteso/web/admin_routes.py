"""The administrators' and auditors' endpoints: ``/auth/admin/...`` and ``/auth/audit/...``.

Each needs a bearer token of the right role (the ``role`` claim, set from the user's account
when the token is issued): administrators manage users and clients, auditors read the audit
trail and verify its Merkle chain. Neither role reaches clinical data (``/fhir`` refuses their
tokens), and neither reaches the other's endpoints (separation of duties: whoever manages
accounts cannot read or vouch for the trail that records it). Every call is audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from yteso.auth import (
    ClientApp,
    Principal,
    SecurityServices,
    account_links,
    audit_event,
    patients_named,
)
from yteso.web.auth_routes import NO_STORE, bearer_principal

Handler = Callable[[Request, Principal], Awaitable[Response]]
MAX_EVENTS = 1000


def _error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status, NO_STORE)


def _fields(body: object, allowed: dict[str, type]) -> dict[str, object]:
    """The JSON object's fields, each of its expected type; ValueError names a wrong one."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    for name, value in body.items():
        expected = allowed.get(name)
        if expected is None:
            raise ValueError(f"unknown field {name!r}")
        if value is not None and not isinstance(value, expected):
            raise ValueError(f"{name} must be a {expected.__name__}")
    return dict(body)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def admin_routes(security: SecurityServices) -> list[Route]:
    def audited(
        role: str, interaction: str, what: Callable[[Request], str]
    ) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
        """Only for tokens of ``role``; each call (allowed or refused) becomes an AuditEvent."""

        def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                principal = bearer_principal(security, request)
                if isinstance(principal, Response):
                    return principal  # a failed authentication (no token kept)
                if principal.role != role:
                    response = _error(403, "insufficient_scope", f"This needs the {role} role")
                else:
                    response = await handler(request, principal)
                security.record(
                    audit_event(
                        interaction=interaction,
                        subject=principal.subject,
                        client_id=principal.client_id,
                        network_address=request.client.host if request.client else "",
                        status=response.status_code,
                        what=what(request),
                    )
                )
                return response

            return endpoint

        return wrap

    def user_ref(request: Request) -> str:
        return f"user/{request.path_params.get('username', '')}"

    def client_ref(request: Request) -> str:
        return f"client/{request.path_params.get('client_id', '')}"

    @audited("administrator", "search-type", lambda r: "user")
    async def list_users(request: Request, principal: Principal) -> Response:
        return JSONResponse([u.public() for u in security.accounts.users()], headers=NO_STORE)

    @audited("administrator", "update", user_ref)
    async def put_user(request: Request, principal: Principal) -> Response:
        """``citizen_id`` (CCCD) or ``practitioner_role`` link the account to its FHIR records
        (checked against the database); ``patient``, ``fhir_user``, ``facility`` state them."""
        fields = ("password", "role", "patient", "fhir_user", "facility", "citizen_id")
        try:
            body = _fields(
                orjson.loads(await request.body()),
                dict.fromkeys((*fields, "practitioner_role"), str),
            )
            given = {k: _text(body.get(k)) for k in ("patient", "fhir_user", "facility")}
            role = str(body.get("role") or "")
            citizen, practitioner = (
                _text(body.get("citizen_id")),
                _text(body.get("practitioner_role")),
            )
            links = given
            if security.directory is not None:
                links = account_links(security.directory, role, citizen, practitioner, given)
            elif citizen or practitioner:
                raise ValueError("accounts cannot be linked to records here: no database")
            user = security.accounts.add_user(
                request.path_params["username"], str(body.get("password") or ""), role, **links
            )
        except (ValueError, orjson.JSONDecodeError) as error:
            return _error(400, "invalid_request", str(error))
        return JSONResponse(user.public(), headers=NO_STORE)

    @audited("administrator", "delete", user_ref)
    async def delete_user(request: Request, principal: Principal) -> Response:
        if not security.accounts.remove_user(request.path_params["username"]):
            return _error(404, "not_found", "No such user")
        return Response(status_code=204)

    @audited("administrator", "search-type", lambda r: "client")
    async def list_clients(request: Request, principal: Principal) -> Response:
        return JSONResponse([c.public() for c in security.accounts.clients()], headers=NO_STORE)

    @audited("administrator", "update", client_ref)
    async def put_client(request: Request, principal: Principal) -> Response:
        allowed: dict[str, type] = {"scope": str, "redirect_uris": list, "jwks": dict, "name": str}
        try:
            body = _fields(orjson.loads(await request.body()), allowed)
            uris = body.get("redirect_uris") or []
            assert isinstance(uris, list)
            if not all(isinstance(u, str) and u.startswith("https://") for u in uris):
                raise ValueError("redirect_uris must be https:// URLs")
            jwks = body.get("jwks")
            client = security.accounts.add_client(
                ClientApp(
                    request.path_params["client_id"],
                    tuple(uris),
                    str(body.get("scope") or ""),
                    jwks if isinstance(jwks, dict) else None,
                    str(body.get("name") or ""),
                )
            )
        except (ValueError, orjson.JSONDecodeError) as error:
            return _error(400, "invalid_request", str(error))
        return JSONResponse(client.public(), headers=NO_STORE)

    @audited("administrator", "delete", client_ref)
    async def delete_client(request: Request, principal: Principal) -> Response:
        if not security.accounts.remove_client(request.path_params["client_id"]):
            return _error(404, "not_found", "No such client")
        return Response(status_code=204)

    @audited("auditor", "search-type", lambda r: "AuditEvent")
    async def audit_events(request: Request, principal: Principal) -> Response:
        """The audit trail as a FHIR searchset Bundle; ``patient`` and ``since`` (an instant)
        narrow it, ``_count`` keeps the most recent (at most 1000)."""
        patient = request.query_params.get("patient")
        since = request.query_params.get("since", "")
        count = request.query_params.get("_count", str(MAX_EVENTS))
        if not count.isdigit():
            return _error(400, "invalid_request", "_count must be a whole number")
        events = [
            e
            for e in security.audit.events()
            if str(e.get("recorded", "")) >= since
            and (patient is None or patient in patients_named(e))
        ]
        kept = events[len(events) - min(int(count), MAX_EVENTS) :] if events else []
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(events),
            "entry": [{"resource": e} for e in kept],
        }
        return JSONResponse(bundle, media_type="application/fhir+json", headers=NO_STORE)

    @audited("auditor", "operation", lambda r: "AuditEvent/$verify")
    async def audit_verify(request: Request, principal: Principal) -> Response:
        report = security.audit.verify()
        body = {"ok": report.ok, "records": report.records, "problems": list(report.problems)}
        return JSONResponse(body, headers=NO_STORE)

    return [
        Route("/auth/admin/users", list_users, methods=["GET"]),
        Route("/auth/admin/users/{username}", put_user, methods=["PUT"]),
        Route("/auth/admin/users/{username}", delete_user, methods=["DELETE"]),
        Route("/auth/admin/clients", list_clients, methods=["GET"]),
        Route("/auth/admin/clients/{client_id}", put_client, methods=["PUT"]),
        Route("/auth/admin/clients/{client_id}", delete_client, methods=["DELETE"]),
        Route("/auth/audit/events", audit_events, methods=["GET"]),
        Route("/auth/audit/verify", audit_verify, methods=["GET"]),
    ]


__all__ = ["admin_routes"]
