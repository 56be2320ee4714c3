"""Authorization-server endpoints under ``/auth`` and the SMART discovery document.

https://hl7.org/fhir/smart-app-launch/conformance.html (``.well-known/smart-configuration``),
https://www.rfc-editor.org/rfc/rfc7517#section-5 (JWKS), RFC 7009 (revocation) and RFC 7662
(introspection), and the SMART App Launch grants of :class:`yteso.auth.AuthorizationServer`:
``/auth/authorize`` (a server-rendered login page, then a redirect with the code) and
``/auth/token``. Every login, token exchange and introspection, granted or refused, every failed
authentication and every refusal here is audited.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from yteso.auth import (
    AuthorizationRequest,
    LoginRefused,
    OAuthError,
    Principal,
    SecurityServices,
    access_report,
    audit_event,
)
from yteso.auth.token_revocation import revoke as revoke_token
from yteso.auth.token_revocation import revoking_client
from yteso.fhir.errors import Unauthorized

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "aud",
    "code_challenge",
    "code_challenge_method",
)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# User names and client ids are at most 200 characters; a refused request may claim anything.
MAX_AUDITED_NAME = 200
MAX_AUDITED_REASON = 1000

SCOPES_SUPPORTED = ["openid", "fhirUser", "launch/patient", "offline_access"]
SCOPES_SUPPORTED += ["patient/*.cruds", "user/*.cruds", "system/*.cruds", "patient/*.read"]


def smart_configuration(issuer_path: str) -> dict[str, object]:
    return {
        "issuer": issuer_path,
        "jwks_uri": f"{issuer_path}/jwks",
        "revocation_endpoint": f"{issuer_path}/revoke",
        "introspection_endpoint": f"{issuer_path}/introspect",
        "authorization_endpoint": f"{issuer_path}/authorize",
        "token_endpoint": f"{issuer_path}/token",
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        # RFC 8414: introspection answers authenticated clients only
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        # revocation: confidential clients authenticate, public ones name their client_id
        "revocation_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "launch-standalone",
            "client-public",
            "client-confidential-asymmetric",
            "permission-offline",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2",
            "context-standalone-patient",
        ],
    }


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _oauth_error(error: OAuthError) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=NO_STORE)


def _login_page(request: AuthorizationRequest, params: dict[str, str], error: str = "") -> Response:
    html = _TEMPLATES.get_template("login.html").render(
        client_name=request.client.name or request.client.client_id,
        scope=request.scope,
        params=[(k, params[k]) for k in AUTHORIZE_PARAMS if k in params],
        error=error,
    )
    return HTMLResponse(html, status_code=401 if error else 200, headers=NO_STORE)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def audit_security_event(
    security: SecurityServices,
    request: Request,
    *,
    interaction: str,
    subject: str | None,
    status: int,
    client_id: str | None = None,
    kind: str = "110114",
    details: dict[str, str] | None = None,
    break_glass: str | None = None,
) -> None:
    """Audit an authentication or authorization event (kind DICOM 110114 user authentication,
    110113 security alert); ``details`` name the grant and the error, never a secret."""
    security.record(
        audit_event(
            interaction=interaction,
            subject=(subject or "unauthenticated")[:MAX_AUDITED_NAME],
            client_id=client_id[:MAX_AUDITED_NAME] if client_id else None,
            network_address=_client_address(request),
            status=status,
            kind=kind,
            details={k: v[:MAX_AUDITED_NAME] for k, v in (details or {}).items()},
            break_glass=break_glass[:MAX_AUDITED_REASON] if break_glass is not None else None,
        )
    )


def bearer_principal(security: SecurityServices, request: Request) -> Principal | Response:
    """The verified token's principal, or the 401 answer for a missing or bad token (audited
    as a failed authentication; the token is not kept)."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise Unauthorized("A bearer access token is required")
        return security.tokens.verify(bearer.strip())
    except Unauthorized as error:
        audit_security_event(
            security,
            request,
            interaction="login",
            subject=None,
            status=401,
            details={"endpoint": request.url.path},
        )
        return JSONResponse(
            {"error": "invalid_token", "error_description": str(error)},
            401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


def auth_routes(security: SecurityServices, fhir_base: str = "/fhir") -> list[Route]:
    async def jwks(request: Request) -> Response:
        return JSONResponse(security.keys.public_jwks(), media_type="application/jwk-set+json")

    async def discovery(request: Request) -> Response:
        return JSONResponse(smart_configuration(_origin(request) + "/auth"))

    async def revoke(request: Request) -> Response:
        """RFC 7009: a client with registered keys authenticates (``private_key_jwt``, ``aud``
        the token or the revocation endpoint URL), a public one names its ``client_id``; each
        revokes only its own tokens. Every call is audited."""
        form = await _form(request)
        audiences = [_origin(request) + "/auth/token", _origin(request) + "/auth/revoke"]
        authorization = security.authorization
        try:
            client = revoking_client(form, audiences, authorization.accounts, authorization.clients)
            subject = revoke_token(form, client, authorization.tokens, authorization.state)
        except OAuthError as error:
            client_id = form.get("client_id") or None
            audit_oauth(request, "revoke", error.subject, error.status, error.error, client_id)
            return _oauth_error(error)
        audit_oauth(request, "revoke", subject or client.client_id, 200, None, client.client_id)
        return Response(status_code=200, headers=NO_STORE)  # 2.2: the same for unknown tokens

    async def introspect(request: Request) -> Response:
        """RFC 7662, for clients authenticated with ``private_key_jwt`` (``aud``: the token or
        the introspection endpoint URL); every call is audited."""
        form = await _form(request)
        audiences = [_origin(request) + "/auth/token", _origin(request) + "/auth/introspect"]
        try:
            answer = security.authorization.introspect(form, audiences)
        except OAuthError as error:
            audit_oauth(request, "introspect", error.subject, error.status, error.error)
            return _oauth_error(error)
        audit_oauth(request, "introspect", answer.subject, 200, None, answer.client_id)
        return JSONResponse(answer.body, headers=NO_STORE)

    def audit_oauth(
        request: Request,
        grant: str,
        subject: str | None,
        status: int,
        error: str | None,
        client_id: str | None = None,
    ) -> None:
        details = {"grant_type": grant, **({"error": error} if error else {})}
        audit_security_event(
            security,
            request,
            interaction="login",
            subject=subject,
            status=status,
            client_id=client_id,
            details=details,
        )

    async def authorize(request: Request) -> Response:
        params = dict(request.query_params) if request.method == "GET" else await _form(request)
        try:
            checked = security.authorization.check_authorization(
                params, _origin(request) + fhir_base
            )
        except OAuthError as error:  # never redirect to an unchecked redirect_uri
            client = params.get("client_id") or None
            audit_oauth(request, "authorization_code", client, error.status, error.error, client)
            return _oauth_error(error)
        if request.method == "GET":
            return _login_page(checked, params)
        username = params.get("username", "")
        client_id = checked.client.client_id
        try:
            user = security.accounts.login(username, params.get("password", ""))
        except LoginRefused as refused:
            audit_oauth(request, "authorization_code", username, 401, "access_denied", client_id)
            return _login_page(checked, params, str(refused))
        audit_oauth(request, "authorization_code", username, 200, None, client_id)
        code = security.authorization.approve(checked, user)
        query = urlencode({"code": code, "state": checked.state})
        return RedirectResponse(f"{checked.redirect_uri}?{query}", status_code=303)

    async def token(request: Request) -> Response:
        """Every exchange, granted or refused, is audited with its grant type and error."""
        form = await _form(request)
        grant = form.get("grant_type", "")
        try:
            answer = security.authorization.token(form, _origin(request) + "/auth/token")
        except OAuthError as error:
            client = form.get("client_id") or None
            audit_oauth(request, grant, error.subject or client, error.status, error.error, client)
            return _oauth_error(error)
        audit_oauth(request, grant, answer.subject, 200, None, answer.client_id)
        return JSONResponse(answer.body, headers=NO_STORE)

    async def my_accesses(request: Request) -> Response:
        """A citizen's view of the audit trail: who accessed their own record."""
        principal = bearer_principal(security, request)
        if isinstance(principal, Response):
            return principal
        if principal.patient is None:
            audit_security_event(
                security,
                request,
                interaction="search-type",
                subject=principal.subject,
                status=403,
                client_id=principal.client_id,
                kind="rest",
                details={"endpoint": request.url.path, "error": "insufficient_scope"},
            )
            return JSONResponse({"error": "insufficient_scope"}, status_code=403)
        return JSONResponse(access_report(security.audit.events(), principal.patient))

    async def break_glass(request: Request) -> Response:
        """A practitioner's emergency token: same scopes and role, every patient, 15 minutes,
        audited. Refused to a break-the-glass token itself: chaining would outlive the limit."""
        principal = bearer_principal(security, request)
        if isinstance(principal, Response):
            return principal
        reason = (await _form(request)).get("reason", "")
        status, answer = 200, _emergency_token(security, principal, reason)
        if not isinstance(answer, str):
            status = answer.status_code
        audit_security_event(
            security,
            request,
            interaction="break-glass",
            subject=principal.subject,
            status=status,
            client_id=principal.client_id,
            kind="110113",
            break_glass=reason,
        )
        if not isinstance(answer, str):
            return answer
        return JSONResponse({"access_token": answer, "token_type": "Bearer"}, headers=NO_STORE)

    return [
        Route("/auth/break-glass", break_glass, methods=["POST"]),
        Route("/auth/my-accesses", my_accesses, methods=["GET"]),
        Route("/auth/authorize", authorize, methods=["GET", "POST"]),
        Route("/auth/token", token, methods=["POST"]),
        Route("/auth/jwks", jwks, methods=["GET"]),
        Route("/auth/revoke", revoke, methods=["POST"]),
        Route("/auth/introspect", introspect, methods=["POST"]),
        Route(f"{fhir_base}/.well-known/smart-configuration", discovery, methods=["GET"]),
    ]


def _emergency_token(
    security: SecurityServices, principal: Principal, reason: str
) -> str | Response:
    """The break-the-glass token, or the refusal."""
    if principal.break_glass is not None:
        return JSONResponse(
            {
                "error": "invalid_request",
                "error_description": "A break-the-glass token cannot make another one",
            },
            403,
            headers=NO_STORE,
        )
    try:
        return security.tokens.issue(
            principal.subject,
            str(principal.scopes),
            fhir_user=principal.practitioner,
            client_id=principal.client_id,
            facility=principal.facility,
            break_glass=reason,
            role=principal.role,
        )
    except ValueError as error:
        body = {"error": "invalid_request", "error_description": str(error)}
        return JSONResponse(body, 400, headers=NO_STORE)


__all__ = ["auth_routes", "bearer_principal", "smart_configuration"]
