"""The security services of one installation, opened from its auth home directory.

Keys, the revocation list and the audit log live under ``$YTESO_HOME/auth`` (files with mode
0600); the issuer and audience name this server in the tokens it signs and accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher

from yteso.auth.accounts import AccountRegistry
from yteso.auth.audit_log import AuditLog
from yteso.auth.authorization_server import AuthorizationServer
from yteso.auth.keys import KeyRing
from yteso.auth.security_feed import SecurityFeed
from yteso.auth.tokens import RevocationList, TokenService
from yteso.fhir.types import Json

DEFAULT_ISSUER = "urn:yteso:auth"
DEFAULT_AUDIENCE = "urn:yteso:fhir"


@dataclass(frozen=True)
class SecurityServices:
    keys: KeyRing
    tokens: TokenService
    audit: AuditLog
    accounts: AccountRegistry
    authorization: AuthorizationServer
    feed: SecurityFeed

    def record(self, event: Json) -> None:
        """Audit one event: the Merkle-chained audit log, then the security feed."""
        self.audit.append(event)
        self.feed.emit(event)

    @classmethod
    def open(
        cls,
        home: Path,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        password_hasher: PasswordHasher | None = None,
        syslog: tuple[str, int] | None = None,
    ) -> SecurityServices:
        home.mkdir(parents=True, exist_ok=True)
        keys = KeyRing(home)
        revocations = RevocationList(home / "revoked.json")
        tokens = TokenService(keys, revocations, issuer, audience)
        accounts = AccountRegistry(home / "accounts.json", password_hasher)
        authorization = AuthorizationServer(tokens, accounts)
        feed = SecurityFeed(home, syslog)
        return cls(keys, tokens, AuditLog(home, keys), accounts, authorization, feed)


__all__ = ["DEFAULT_AUDIENCE", "DEFAULT_ISSUER", "SecurityServices"]
