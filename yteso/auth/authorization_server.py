"""The OAuth 2.0 grants of SMART App Launch 2.x — https://hl7.org/fhir/smart-app-launch/

- authorization code with PKCE, S256 only (RFC 7636; SMART forbids ``plain``); a code is used
  once and lives 60 s; refresh tokens only when ``offline_access`` was granted;
- client credentials with ``private_key_jwt`` (RFC 7523, SMART Backend Services): the assertion
  is RS384/ES384-signed by a key of the client's registered JWKS, ``iss`` = ``sub`` = client id,
  ``aud`` = the token endpoint, ``exp`` at most 5 minutes ahead, ``jti`` never seen before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from joserfc.jwt import JWTClaimsRegistry

from yteso.auth.accounts import NON_CLINICAL_ROLES, AccountRegistry, ClientApp, UserAccount
from yteso.auth.scopes import ScopeSet
from yteso.auth.state import AuthState
from yteso.auth.tokens import DEFAULT_TTL_SECONDS, TokenService
from yteso.fhir.types import Json

CODE_TTL_SECONDS = 60
ASSERTION_MAX_SECONDS = 300
ASSERTION_ALGORITHMS = ["RS384", "ES384"]
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REFRESH_TTL_SECONDS = 30 * 24 * 3600
CODE, REFRESH, ASSERTION_JTI = "authorization-code", "refresh-token", "assertion-jti"


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error: ``error`` code, description and HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> Json:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class AuthorizationRequest:
    client: ClientApp
    redirect_uri: str
    scope: str
    state: str
    code_challenge: str


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _digest(secret: str) -> str:
    """Codes and refresh tokens are kept by their SHA-256: a copy of the database holds
    nothing that could be redeemed."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def granted_scope(requested: str, client: ClientApp, user: UserAccount | None) -> str:
    """Requested scopes the client may have and the user's role allows (patient/ scopes need
    a citizen with a Patient link or a launch patient; system/ scopes are for backend clients)."""
    allowed = set(client.scope.split())
    kept = []
    for scope in ScopeSet.parse(requested).text:
        context = scope.split("/", 1)[0]
        if scope not in allowed:
            continue
        if user is not None and context == "system":
            continue
        if user is not None and user.role in NON_CLINICAL_ROLES and context in ("patient", "user"):
            continue  # administrators and auditors read no clinical data
        if user is not None and context == "patient" and user.patient is None:
            continue
        if user is not None and context == "user" and user.role == "citizen":
            continue  # a citizen reaches only their own compartment, through patient/ scopes
        kept.append(scope)
    return " ".join(kept)


class AuthorizationServer:
    """Codes, refresh tokens and used assertion ``jti``s live in the shared ``state``, so a
    code issued by one server process is redeemed (once) by any other."""

    def __init__(self, tokens: TokenService, accounts: AccountRegistry, state: AuthState):
        self.tokens = tokens
        self.accounts = accounts
        self.state = state

    def check_authorization(self, params: dict[str, str]) -> AuthorizationRequest:
        client = self.accounts.client(params.get("client_id", ""))
        if client is None:
            raise OAuthError("invalid_client", "Unknown client_id", 401)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise OAuthError("invalid_request", "redirect_uri is not registered for this client")
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "Only response_type=code is served")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            raise OAuthError("invalid_request", "PKCE with code_challenge_method=S256 is required")
        return AuthorizationRequest(
            client,
            redirect_uri,
            params.get("scope", ""),
            params.get("state", ""),
            params["code_challenge"],
        )

    def approve(self, request: AuthorizationRequest, user: UserAccount) -> str:
        code = secrets.token_urlsafe(32)
        grant = {
            "username": user.username,
            "client_id": request.client.client_id,
            "redirect_uri": request.redirect_uri,
            "scope": request.scope,
            "code_challenge": request.code_challenge,
        }
        expires = time.time() + CODE_TTL_SECONDS
        self.state.put(CODE, _digest(code), orjson.dumps(grant).decode(), expires)
        return code

    def token(self, form: dict[str, str], token_endpoint: str) -> Json:
        """Answer the token endpoint; ``token_endpoint`` is its absolute URL (the audience a
        client assertion must name)."""
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._authorization_code(form)
        if grant_type == "refresh_token":
            return self._refresh_token(form)
        if grant_type == "client_credentials":
            return self._client_credentials(form, token_endpoint)
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not served")

    def _authorization_code(self, form: dict[str, str]) -> Json:
        raw = self.state.take(CODE, _digest(form.get("code", "")))  # one use, even if it fails
        if raw is None:
            raise OAuthError("invalid_grant", "The code is unknown, used or expired")
        grant = orjson.loads(raw)
        if form.get("client_id") != grant["client_id"]:
            raise OAuthError("invalid_grant", "The code was issued to another client")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        if not verifier or not hmac.compare_digest(_s256(verifier), grant["code_challenge"]):
            raise OAuthError("invalid_grant", "The PKCE code_verifier does not match")
        user, client = self._current(grant["username"], grant["client_id"])
        scope = granted_scope(grant["scope"], client, user)
        return self._user_tokens(user, scope, client.client_id)

    def _current(self, username: str, client_id: str) -> tuple[UserAccount, ClientApp]:
        """The user and client as they are now: one removed since the grant gets nothing."""
        user, client = self.accounts.user(username), self.accounts.client(client_id)
        if user is None or client is None:
            raise OAuthError("invalid_grant", "The user or client of this grant was removed")
        return user, client

    def _user_tokens(self, user: UserAccount, scope: str, client_id: str) -> Json:
        access = self.tokens.issue(
            user.username,
            scope,
            patient=user.patient,
            fhir_user=user.fhir_user,
            client_id=client_id,
            facility=user.facility,
            role=user.role,
        )
        response: Json = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": DEFAULT_TTL_SECONDS,
            "scope": scope,
        }
        if user.patient is not None:
            response["patient"] = user.patient
        if "offline_access" in scope.split():
            refresh = secrets.token_urlsafe(32)
            grant = {"username": user.username, "scope": scope, "client_id": client_id}
            expires = time.time() + REFRESH_TTL_SECONDS
            self.state.put(REFRESH, _digest(refresh), orjson.dumps(grant).decode(), expires)
            response["refresh_token"] = refresh
        return response

    def _refresh_token(self, form: dict[str, str]) -> Json:
        raw = self.state.take(REFRESH, _digest(form.get("refresh_token", "")))  # rotated on use
        found = orjson.loads(raw) if raw is not None else None
        if found is None or found["client_id"] != form.get("client_id"):
            raise OAuthError("invalid_grant", "The refresh token is unknown or not this client's")
        user, client = self._current(found["username"], found["client_id"])
        # Narrowed to what the client may still have (its registration may have shrunk).
        scope = granted_scope(found["scope"], client, user)
        return self._user_tokens(user, scope, client.client_id)

    def _client_credentials(self, form: dict[str, str], token_endpoint: str) -> Json:
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OAuthError(
                "invalid_client", "private_key_jwt client authentication is required", 401
            )
        client = self._verify_assertion(form.get("client_assertion", ""), token_endpoint)
        scope = granted_scope(form.get("scope", ""), client, None)
        access = self.tokens.issue(client.client_id, scope, client_id=client.client_id)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": DEFAULT_TTL_SECONDS,
            "scope": scope,
        }

    def _verify_assertion(self, assertion: str, token_endpoint: str) -> ClientApp:
        issuer = _unverified_issuer(assertion)  # to find whose keys verify it
        client = self.accounts.client(issuer)
        if client is None or not client.jwks:
            raise OAuthError("invalid_client", "Unknown client or no registered keys", 401)
        try:
            keys = KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
            token = jwt.decode(assertion, keys, algorithms=ASSERTION_ALGORITHMS)
            JWTClaimsRegistry(
                iss={"essential": True, "value": client.client_id},
                sub={"essential": True, "value": client.client_id},
                aud={"essential": True, "value": token_endpoint},
                exp={"essential": True},
                jti={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError) as error:
            raise OAuthError(
                "invalid_client", f"The client assertion is not valid: {error}", 401
            ) from error
        self._remember_jti(client.client_id, token.claims)
        return client

    def _remember_jti(self, client_id: str, claims: dict[str, object]) -> None:
        now = time.time()
        expires = float(str(claims["exp"]))
        if expires - now > ASSERTION_MAX_SECONDS:
            raise OAuthError(
                "invalid_client", "The client assertion lives more than 5 minutes", 401
            )
        key = f"{client_id} {claims['jti']}"
        if not self.state.add(ASSERTION_JTI, key, "", expires):
            raise OAuthError("invalid_client", "The client assertion was already used", 401)


def _unverified_issuer(assertion: str) -> str:
    try:
        claims = orjson.loads(extract_compact(assertion.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeEncodeError):
        return ""
    return str(claims.get("iss", "")) if isinstance(claims, dict) else ""


__all__ = ["AuthorizationRequest", "AuthorizationServer", "OAuthError", "granted_scope"]
