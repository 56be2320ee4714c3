"""Authorization-server endpoints under ``/auth`` and the SMART discovery document.

https://hl7.org/fhir/smart-app-launch/conformance.html (``.well-known/smart-configuration``),
https://www.rfc-editor.org/rfc/rfc7517#section-5 (JWKS), RFC 7009 (revocation) and RFC 7662
(introspection), and the SMART App Launch grants of :class:`yteso.auth.AuthorizationServer`:
``/auth/authorize`` (a server-rendered login page, then a redirect with the code) and
``/auth/token``. Logins and failed logins are audited.
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


async def _token_field(request: Request) -> str:
    return (await _form(request)).get("token", "")


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


def bearer_principal(security: SecurityServices, request: Request) -> Principal | Response:
    """The verified token's principal, or the 401 answer for a missing or bad token."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise Unauthorized("A bearer access token is required")
        return security.tokens.verify(bearer.strip())
    except Unauthorized as error:
        return JSONResponse(
            {"error": "invalid_token", "error_description": str(error)},
            401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


def auth_routes(security: SecurityServices, fhir_base: str = "/fhir") -> list[Route]:
    async def jwks(request: Request) -> Response:
        return JSONResponse(security.keys.public_jwks(), media_type="application/jwk-set+json")

    async def discovery(request: Request) -> Response:
        origin = f"{request.url.scheme}://{request.url.netloc}"
        return JSONResponse(smart_configuration(origin + "/auth"))

    async def revoke(request: Request) -> Response:
        security.tokens.revoke(await _token_field(request))
        return Response(status_code=200)  # RFC 7009 2.2: the same answer for unknown tokens

    async def introspect(request: Request) -> Response:
        try:
            principal = security.tokens.verify(await _token_field(request))
        except Unauthorized:
            return JSONResponse({"active": False})
        return JSONResponse(
            {
                "active": True,
                "sub": principal.subject,
                "scope": str(principal.scopes),
                "exp": principal.expires_at,
                "client_id": principal.client_id,
                **({"patient": principal.patient} if principal.patient else {}),
                **({"role": principal.role} if principal.role else {}),
            }
        )

    def audit_login(request: Request, subject: str, status: int) -> None:
        security.record(
            audit_event(
                interaction="login",
                subject=subject,
                client_id=None,
                network_address=_client_address(request),
                status=status,
                kind="110114",
            )
        )

    async def authorize(request: Request) -> Response:
        params = dict(request.query_params) if request.method == "GET" else await _form(request)
        try:
            checked = security.authorization.check_authorization(params)
        except OAuthError as error:  # never redirect to an unchecked redirect_uri
            return _oauth_error(error)
        if request.method == "GET":
            return _login_page(checked, params)
        username = params.get("username", "")
        try:
            user = security.accounts.login(username, params.get("password", ""))
        except LoginRefused as refused:
            audit_login(request, username, 401)
            return _login_page(checked, params, str(refused))
        audit_login(request, username, 200)
        code = security.authorization.approve(checked, user)
        query = urlencode({"code": code, "state": checked.state})
        return RedirectResponse(f"{checked.redirect_uri}?{query}", status_code=303)

    async def token(request: Request) -> Response:
        endpoint = f"{request.url.scheme}://{request.url.netloc}/auth/token"
        try:
            answer = security.authorization.token(await _form(request), endpoint)
        except OAuthError as error:
            return _oauth_error(error)
        return JSONResponse(answer, headers=NO_STORE)

    async def my_accesses(request: Request) -> Response:
        """A citizen's view of the audit trail: who accessed their own record."""
        principal = bearer_principal(security, request)
        if isinstance(principal, Response):
            return principal
        if principal.patient is None:
            return JSONResponse({"error": "insufficient_scope"}, status_code=403)
        return JSONResponse(access_report(security.audit.events(), principal.patient))

    async def break_glass(request: Request) -> Response:
        """A practitioner's emergency token: same scopes, every patient, 15 minutes, audited."""
        principal = bearer_principal(security, request)
        if isinstance(principal, Response):
            return principal
        reason = (await _form(request)).get("reason", "")
        try:
            token = security.tokens.issue(
                principal.subject,
                str(principal.scopes),
                fhir_user=principal.practitioner,
                client_id=principal.client_id,
                facility=principal.facility,
                break_glass=reason,
            )
        except ValueError as error:
            return JSONResponse({"error": "invalid_request", "error_description": str(error)}, 400)
        security.record(
            audit_event(
                interaction="break-glass",
                subject=principal.subject,
                client_id=principal.client_id,
                network_address=_client_address(request),
                status=200,
                kind="110113",
                break_glass=reason,
            )
        )
        return JSONResponse({"access_token": token, "token_type": "Bearer"}, headers=NO_STORE)

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


__all__ = ["auth_routes", "bearer_principal", "smart_configuration"]
