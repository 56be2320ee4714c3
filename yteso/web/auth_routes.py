"""Authorization-server endpoints under ``/auth`` and the SMART discovery document.

https://hl7.org/fhir/smart-app-launch/conformance.html (``.well-known/smart-configuration``),
https://www.rfc-editor.org/rfc/rfc7517#section-5 (JWKS), RFC 7009 (revocation) and RFC 7662
(introspection). Token issuance to apps (authorization code + PKCE, client credentials) is not
served yet: operators issue tokens with ``yteso auth token``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from yteso.auth import SecurityServices
from yteso.fhir.errors import Unauthorized

SCOPES_SUPPORTED = ["openid", "fhirUser", "launch/patient", "offline_access"]
SCOPES_SUPPORTED += ["patient/*.cruds", "user/*.cruds", "system/*.cruds", "patient/*.read"]


def smart_configuration(issuer_path: str) -> dict[str, object]:
    return {
        "issuer": issuer_path,
        "jwks_uri": f"{issuer_path}/jwks",
        "revocation_endpoint": f"{issuer_path}/revoke",
        "introspection_endpoint": f"{issuer_path}/introspect",
        "grant_types_supported": [],
        "token_endpoint_auth_methods_supported": [],
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": [],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": ["permission-v2", "permission-v1", "context-standalone-patient"],
    }


async def _token_field(request: Request) -> str:
    form = await request.form()
    value = form.get("token")
    return value if isinstance(value, str) else ""


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
            }
        )

    return [
        Route("/auth/jwks", jwks, methods=["GET"]),
        Route("/auth/revoke", revoke, methods=["POST"]),
        Route("/auth/introspect", introspect, methods=["POST"]),
        Route(f"{fhir_base}/.well-known/smart-configuration", discovery, methods=["GET"]),
    ]


__all__ = ["auth_routes", "smart_configuration"]
