"""Token revocation — https://www.rfc-editor.org/rfc/rfc7009

A confidential client (one registered with keys) authenticates with ``private_key_jwt``
(section 2.1: "the client also includes its authentication credentials"); a public client
names its ``client_id``. Either may revoke only tokens issued to itself, so a token found or
stolen cannot be revoked by someone else's app to cut its holder off. An unknown, expired or
malformed token is not an error (section 2.2). Access tokens are revoked by ``jti``; refresh
tokens (kept by their SHA-256) are removed.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from yteso.auth.accounts import AccountRegistry, ClientApp
from yteso.auth.authorization_server import REFRESH, digest
from yteso.auth.client_assertions import ClientAuthenticator
from yteso.auth.oauth_errors import OAuthError
from yteso.auth.state import AuthState
from yteso.auth.tokens import TokenService
from yteso.fhir.errors import Unauthorized


def revoking_client(
    form: dict[str, str],
    audiences: Sequence[str],
    accounts: AccountRegistry,
    clients: ClientAuthenticator,
) -> ClientApp:
    """The client asking: authenticated by its assertion, or a public one by ``client_id``."""
    if "client_assertion_type" in form or "client_assertion" in form:
        return clients.authenticate(form, audiences)
    client_id = form.get("client_id", "")
    client = accounts.client(client_id)
    if client is None:
        raise OAuthError("invalid_client", "Unknown client_id", 401, subject=client_id or None)
    if client.jwks:
        raise OAuthError(
            "invalid_client",
            "This client is registered with keys: it must authenticate with private_key_jwt",
            401,
            subject=client_id,
        )
    return client


def revoke(
    form: dict[str, str], client: ClientApp, tokens: TokenService, state: AuthState
) -> str | None:
    """Revoke ``form["token"]`` if ``client`` may; the subject it was issued to, or ``None``
    for a token this server does not know. A token of another client is ``invalid_grant``."""
    token = form.get("token", "")
    key = digest(token)
    refresh = state.get(REFRESH, key)
    if refresh is not None:
        grant = orjson.loads(refresh)
        _require_own(str(grant["client_id"]), client, str(grant["username"]))
        state.delete(REFRESH, key)
        return str(grant["username"])
    try:
        principal = tokens.verify(token)
    except Unauthorized:
        return None
    _require_own(principal.client_id, client, principal.subject)
    tokens.revoke(token)
    return principal.subject


def _require_own(issued_to: str | None, client: ClientApp, subject: str) -> None:
    if issued_to != client.client_id:
        raise OAuthError(
            "invalid_grant", "The token was not issued to this client", subject=subject
        )


__all__ = ["revoke", "revoking_client"]
