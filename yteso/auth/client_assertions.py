"""Client authentication with ``private_key_jwt`` — https://www.rfc-editor.org/rfc/rfc7523 and
https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html

The assertion is RS384/ES384-signed by a key of the client's registered JWKS, ``iss`` = ``sub`` =
client id, ``aud`` = an endpoint of this server that the caller is authenticating to (the token
endpoint; the introspection endpoint also accepts its own URL), ``exp`` at most 5 minutes ahead,
and ``jti`` never seen before (kept in the shared state until the assertion expires).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from joserfc.jwt import JWTClaimsRegistry

from yteso.auth.accounts import AccountRegistry, ClientApp
from yteso.auth.oauth_errors import OAuthError
from yteso.auth.state import AuthState

ASSERTION_MAX_SECONDS = 300
ASSERTION_ALGORITHMS = ["RS384", "ES384"]
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_JTI = "assertion-jti"


class ClientAuthenticator:
    def __init__(self, accounts: AccountRegistry, state: AuthState) -> None:
        self.accounts = accounts
        self.state = state

    def authenticate(self, form: dict[str, str], audiences: Sequence[str]) -> ClientApp:
        """The client whose assertion in ``form`` verifies, naming one of ``audiences``."""
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OAuthError(
                "invalid_client", "private_key_jwt client authentication is required", 401
            )
        assertion = form.get("client_assertion", "")
        claimed = unverified_issuer(assertion)  # to find whose keys verify it
        try:
            return self._verify(assertion, claimed, audiences)
        except OAuthError as error:
            error.subject = claimed or None
            raise

    def _verify(self, assertion: str, claimed: str, audiences: Sequence[str]) -> ClientApp:
        client = self.accounts.client(claimed)
        if client is None or not client.jwks:
            raise OAuthError("invalid_client", "Unknown client or no registered keys", 401)
        try:
            keys = KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
            token = jwt.decode(assertion, keys, algorithms=ASSERTION_ALGORITHMS)
            JWTClaimsRegistry(
                iss={"essential": True, "value": client.client_id},
                sub={"essential": True, "value": client.client_id},
                aud={"essential": True, "values": list(audiences)},
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


def unverified_issuer(assertion: str) -> str:
    try:
        claims = orjson.loads(extract_compact(assertion.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeEncodeError):
        return ""
    return str(claims.get("iss", "")) if isinstance(claims, dict) else ""


__all__ = [
    "ASSERTION_ALGORITHMS",
    "ASSERTION_JTI",
    "ASSERTION_MAX_SECONDS",
    "CLIENT_ASSERTION_TYPE",
    "ClientAuthenticator",
    "unverified_issuer",
]
