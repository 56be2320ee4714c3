"""Signed JWT access tokens — https://www.rfc-editor.org/rfc/rfc9068 (JWT access token profile).

Tokens are ES384 JWS signed by the :class:`KeyRing`'s current key; verification accepts only
ES384/RS384 with a known ``kid`` (never ``alg: none``), checks ``iss``, ``aud``, ``exp`` and
``nbf`` and refuses revoked ``jti``s. The SMART launch context (``patient``, ``fhirUser``) rides
in the token as claims (https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-context).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from yteso.auth.keys import SIGNING_ALGORITHM, KeyRing
from yteso.auth.scopes import ScopeSet
from yteso.auth.state import AuthState
from yteso.fhir.errors import Unauthorized

ACCEPTED_ALGORITHMS = ["ES384", "RS384"]
DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 7 * 24 * 3600
BREAK_GLASS_TTL_SECONDS = 15 * 60
CLOCK_SKEW_SECONDS = 30
VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Principal:
    """Who is calling, with what scopes and launch context; built only from a verified token."""

    subject: str
    scopes: ScopeSet
    token_id: str
    expires_at: int
    patient: str | None = None  # the launch patient id (patient/ scopes act for it)
    fhir_user: str | None = None  # e.g. "Practitioner/123"
    client_id: str | None = None
    facility: str | None = None  # practitioner's facility (Organization id)
    break_glass: str | None = None  # the stated reason of an emergency access token
    role: str | None = None  # the user's role (citizen, practitioner, administrator, auditor)

    @property
    def practitioner(self) -> str | None:
        """``Practitioner/ID`` when a practitioner holds the token (their reach is limited)."""
        user = self.fhir_user or ""
        return user if user.startswith("Practitioner/") else None


class RevocationList:
    """Revoked token ids until they expire, in the shared auth state. Each process re-reads
    the (short) list at most every ``refresh_seconds``: a revocation holds at once in the
    process that made it and within that delay in every other, without a database look-up on
    each request."""

    KIND = "revoked-jti"

    def __init__(self, state: AuthState, refresh_seconds: float = 1.0) -> None:
        self.state = state
        self.refresh_seconds = refresh_seconds
        self._known: frozenset[str] = frozenset()
        self._loaded_at = -float("inf")
        self._lock = threading.Lock()

    def revoke(self, token_id: str, expires_at: int) -> None:
        self.state.put(self.KIND, token_id, "", float(expires_at + CLOCK_SKEW_SECONDS))
        with self._lock:
            self._known = self._known | {token_id}

    def is_revoked(self, token_id: str) -> bool:
        now = time.monotonic()
        if now - self._loaded_at >= self.refresh_seconds:
            known = frozenset(name for name, _ in self.state.items(self.KIND))
            with self._lock:
                self._known, self._loaded_at = known, now
        return token_id in self._known


class TokenService:
    """Issues and verifies access tokens for one issuer and one audience (the FHIR base)."""

    def __init__(self, keys: KeyRing, revocations: RevocationList, issuer: str, audience: str):
        self.keys = keys
        self.revocations = revocations
        self.issuer = issuer
        self.audience = audience
        # Verified tokens by their text: a signature check costs ~1 ms (ES384), a dict hit
        # nothing. Expiry and revocation are still checked on every use.
        self._verified: dict[str, Principal] = {}

    def issue(
        self,
        subject: str,
        scope: str,
        *,
        ttl: int = DEFAULT_TTL_SECONDS,
        patient: str | None = None,
        fhir_user: str | None = None,
        client_id: str | None = None,
        facility: str | None = None,
        break_glass: str | None = None,
        role: str | None = None,
    ) -> str:
        if not 0 < ttl <= MAX_TTL_SECONDS:
            raise ValueError(f"ttl must be between 1 and {MAX_TTL_SECONDS} seconds")
        if break_glass is not None and (len(break_glass.strip()) < 10 or fhir_user is None):
            raise ValueError("break-the-glass needs a practitioner and a reason (10+ characters)")
        if break_glass is not None:
            ttl = min(ttl, BREAK_GLASS_TTL_SECONDS)
        ScopeSet.parse(scope)  # refuse to sign a malformed scope
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
            "client_id": client_id or subject,
        }
        if patient is not None:
            claims["patient"] = patient
        if fhir_user is not None:
            claims["fhirUser"] = fhir_user
        if facility is not None:
            claims["facility"] = facility
        if break_glass is not None:
            claims["break_glass"] = break_glass.strip()
        if role is not None:
            claims["role"] = role
        key = self.keys.current
        header = {"alg": SIGNING_ALGORITHM, "kid": key.kid, "typ": "at+jwt"}
        return jwt.encode(header, claims, key, algorithms=[SIGNING_ALGORITHM])

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; :class:`Unauthorized` for anything else."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at + CLOCK_SKEW_SECONDS < time.time():
                raise Unauthorized("The access token has expired")
            if self.revocations.is_revoked(cached.token_id):
                raise Unauthorized("The access token has been revoked")
            return cached
        principal = self._verify_signed(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = principal
        return principal

    def _verify_signed(self, token: str) -> Principal:
        try:
            decoded = jwt.decode(
                token, self.keys.verification_set(), algorithms=ACCEPTED_ALGORITHMS
            )
            registry = JWTClaimsRegistry(
                leeway=CLOCK_SKEW_SECONDS,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                sub={"essential": True},
                exp={"essential": True},
                jti={"essential": True},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise Unauthorized(f"The access token is not valid: {error}") from error
        claims = decoded.claims
        if self.revocations.is_revoked(str(claims["jti"])):
            raise Unauthorized("The access token has been revoked")
        return Principal(
            subject=str(claims["sub"]),
            scopes=ScopeSet.parse(str(claims.get("scope", ""))),
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            patient=_optional(claims.get("patient")),
            fhir_user=_optional(claims.get("fhirUser")),
            client_id=_optional(claims.get("client_id")),
            facility=_optional(claims.get("facility")),
            break_glass=_optional(claims.get("break_glass")),
            role=_optional(claims.get("role")),
        )

    def revoke(self, token: str) -> bool:
        """Revoke a token this server issued (RFC 7009: an unknown token is not an error)."""
        try:
            principal = self.verify(token)
        except Unauthorized:
            return False
        self.revocations.revoke(principal.token_id, principal.expires_at)
        return True


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


__all__ = [
    "BREAK_GLASS_TTL_SECONDS",
    "DEFAULT_TTL_SECONDS",
    "Principal",
    "RevocationList",
    "TokenService",
]
