"""The OAuth 2.0 grants of SMART App Launch 2.x — https://hl7.org/fhir/smart-app-launch/

- authorization code with PKCE, S256 only (RFC 7636; SMART forbids ``plain``); ``aud`` must be
  this server's FHIR base URL; a code is used once and lives 60 s; refresh tokens only when
  ``offline_access`` was granted;
- client credentials with ``private_key_jwt`` (RFC 7523, SMART Backend Services, see
  :mod:`yteso.auth.client_assertions`);
- token introspection (RFC 7662) for clients that authenticate the same way.

Granted scopes are the requested ones that lie within a scope registered for the client
(``patient/Observation.rs`` within ``patient/*.rs``) and that the user's role allows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from yteso.auth.accounts import NON_CLINICAL_ROLES, AccountRegistry, ClientApp, UserAccount
from yteso.auth.client_assertions import ClientAuthenticator
from yteso.auth.directory import Directory, LinkRefused, PractitionerLink, practitioner_link
from yteso.auth.oauth_errors import OAuthError
from yteso.auth.scopes import ScopeSet
from yteso.auth.state import AuthState
from yteso.auth.tokens import DEFAULT_TTL_SECONDS, TokenService
from yteso.fhir.errors import Invalid, Unauthorized
from yteso.fhir.types import Json

CODE_TTL_SECONDS = 60
REFRESH_TTL_SECONDS = 30 * 24 * 3600
CODE, REFRESH = "authorization-code", "refresh-token"


@dataclass(frozen=True)
class AuthorizationRequest:
    client: ClientApp
    redirect_uri: str
    scope: str
    state: str
    code_challenge: str


@dataclass(frozen=True)
class TokenGrant:
    """An endpoint's answer and who it was given to (the user, or the backend client)."""

    body: Json
    subject: str
    client_id: str


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def digest(secret: str) -> str:
    """Codes and refresh tokens are kept by their SHA-256: a copy of the database holds
    nothing that could be redeemed."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _scopes(text: str, error: str = "invalid_scope") -> ScopeSet:
    try:
        return ScopeSet.parse(text)
    except Invalid as invalid:
        raise OAuthError(error, str(invalid)) from invalid


def granted_scope(requested: str, client: ClientApp, user: UserAccount | None) -> str:
    """Requested scopes within the client's registered ones that the user's role allows
    (patient/ scopes need a citizen with a Patient link; system/ scopes are for backend
    clients)."""
    allowed = _scopes(client.scope, "invalid_client")
    kept = []
    for scope in _scopes(requested).text:
        context = scope.split("/", 1)[0]
        if not allowed.allows(scope):
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
    code issued by one server process is redeemed (once) by any other. ``directory`` reads
    the PractitionerRole of a practitioner's account each time a token is issued."""

    def __init__(
        self,
        tokens: TokenService,
        accounts: AccountRegistry,
        state: AuthState,
        directory: Directory | None = None,
    ) -> None:
        self.tokens = tokens
        self.accounts = accounts
        self.state = state
        self.directory = directory
        self.clients = ClientAuthenticator(accounts, state)

    def check_authorization(self, params: dict[str, str], fhir_base: str) -> AuthorizationRequest:
        """``fhir_base``: the absolute FHIR base URL, which ``aud`` must name (SMART)."""
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
        if params.get("aud", "").rstrip("/") != fhir_base.rstrip("/"):
            raise OAuthError("invalid_request", f"aud must be this server's FHIR base {fhir_base}")
        _scopes(params.get("scope", ""))
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
        self.state.put(CODE, digest(code), orjson.dumps(grant).decode(), expires)
        return code

    def token(self, form: dict[str, str], token_endpoint: str) -> TokenGrant:
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

    def introspect(self, form: dict[str, str], audiences: Sequence[str]) -> TokenGrant:
        """RFC 7662 for an authenticated client (``private_key_jwt``): anyone else could use
        the endpoint to test stolen or guessed tokens."""
        client = self.clients.authenticate(form, audiences)
        try:
            principal = self.tokens.verify(form.get("token", ""))
        except Unauthorized:
            return TokenGrant({"active": False}, client.client_id, client.client_id)
        body: Json = {
            "active": True,
            "sub": principal.subject,
            "scope": str(principal.scopes),
            "exp": principal.expires_at,
            "client_id": principal.client_id,
            **({"patient": principal.patient} if principal.patient else {}),
            **({"role": principal.role} if principal.role else {}),
        }
        return TokenGrant(body, client.client_id, client.client_id)

    def _authorization_code(self, form: dict[str, str]) -> TokenGrant:
        raw = self.state.take(CODE, digest(form.get("code", "")))  # one use, even if it fails
        if raw is None:
            raise OAuthError("invalid_grant", "The code is unknown, used or expired")
        grant = orjson.loads(raw)
        try:
            if form.get("client_id") != grant["client_id"]:
                raise OAuthError("invalid_grant", "The code was issued to another client")
            if form.get("redirect_uri") != grant["redirect_uri"]:
                raise OAuthError("invalid_grant", "redirect_uri differs from the request")
            verifier = form.get("code_verifier", "")
            if not verifier or not hmac.compare_digest(_s256(verifier), grant["code_challenge"]):
                raise OAuthError("invalid_grant", "The PKCE code_verifier does not match")
            user, client = self._current(grant["username"], grant["client_id"])
            scope = granted_scope(grant["scope"], client, user)
            return self._user_tokens(user, scope, client.client_id)
        except OAuthError as error:
            error.subject = grant["username"]
            raise

    def _current(self, username: str, client_id: str) -> tuple[UserAccount, ClientApp]:
        """The user and client as they are now: one removed since the grant gets nothing."""
        user, client = self.accounts.user(username), self.accounts.client(client_id)
        if user is None or client is None:
            raise OAuthError("invalid_grant", "The user or client of this grant was removed")
        return user, client

    def _practitioner(self, user: UserAccount) -> PractitionerLink | None:
        """The PractitionerRole's Practitioner and facility as they are now."""
        if user.practitioner_role is None:
            return None
        if self.directory is None:
            raise OAuthError("invalid_grant", "PractitionerRoles cannot be read by this server")
        try:
            return practitioner_link(self.directory, user.practitioner_role, datetime.now(UTC))
        except LinkRefused as refused:
            raise OAuthError(
                "invalid_grant", f"The account's role is not in force: {refused}"
            ) from refused

    def _user_tokens(self, user: UserAccount, scope: str, client_id: str) -> TokenGrant:
        link = self._practitioner(user)
        access = self.tokens.issue(
            user.username,
            scope,
            patient=user.patient,
            fhir_user=link.practitioner if link else user.fhir_user,
            client_id=client_id,
            facility=link.facility if link else user.facility,
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
            self.state.put(REFRESH, digest(refresh), orjson.dumps(grant).decode(), expires)
            response["refresh_token"] = refresh
        return TokenGrant(response, user.username, client_id)

    def _refresh_token(self, form: dict[str, str]) -> TokenGrant:
        raw = self.state.take(REFRESH, digest(form.get("refresh_token", "")))  # rotated on use
        found = orjson.loads(raw) if raw is not None else None
        if found is None or found["client_id"] != form.get("client_id"):
            raise OAuthError(
                "invalid_grant",
                "The refresh token is unknown or not this client's",
                subject=found["username"] if found is not None else None,
            )
        try:
            user, client = self._current(found["username"], found["client_id"])
            # Narrowed to what the client may still have (its registration may have shrunk).
            scope = granted_scope(found["scope"], client, user)
            return self._user_tokens(user, scope, client.client_id)
        except OAuthError as error:
            error.subject = found["username"]
            raise

    def _client_credentials(self, form: dict[str, str], token_endpoint: str) -> TokenGrant:
        client = self.clients.authenticate(form, [token_endpoint])
        try:
            scope = granted_scope(form.get("scope", ""), client, None)
        except OAuthError as error:
            error.subject = client.client_id
            raise
        access = self.tokens.issue(client.client_id, scope, client_id=client.client_id)
        body: Json = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": DEFAULT_TTL_SECONDS,
            "scope": scope,
        }
        return TokenGrant(body, client.client_id, client.client_id)


__all__ = [
    "AuthorizationRequest",
    "AuthorizationServer",
    "OAuthError",
    "TokenGrant",
    "granted_scope",
]
