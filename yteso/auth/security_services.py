"""The security services of one installation, opened from its auth home directory.

Keys and the audit log live under ``$YTESO_HOME/auth`` (files with mode 0600); users, clients,
codes, refresh tokens, revocations and login failures in the shared :class:`AuthState` (the
platform database); the issuer and audience name this server in the tokens it signs and accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher

from yteso.auth.accounts import AccountRegistry
from yteso.auth.audit_log import AuditLog
from yteso.auth.authorization_server import AuthorizationServer
from yteso.auth.directory import Directory
from yteso.auth.keys import KeyRing
from yteso.auth.security_feed import SecurityFeed
from yteso.auth.state import AuthState, MemoryAuthState
from yteso.auth.tokens import RevocationList, TokenService
from yteso.fhir.types import Json

DEFAULT_ISSUER = "urn:yteso:auth"
DEFAULT_AUDIENCE = "urn:yteso:fhir"
AUDIT_HEAD_INTERVAL_SECONDS = 1.0  # a signed audit tree head at most once a second


@dataclass(frozen=True)
class SecurityServices:
    keys: KeyRing
    tokens: TokenService
    audit: AuditLog
    accounts: AccountRegistry
    authorization: AuthorizationServer
    feed: SecurityFeed
    state: AuthState
    directory: Directory | None = None  # the FHIR records accounts are linked to

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
        state: AuthState | None = None,
        directory: Directory | None = None,
    ) -> SecurityServices:
        """``state``: where users, clients, codes, refresh tokens, revocations, assertion
        ``jti``s and login failures live; the platform database (shared by every server
        process) in production, this process's memory when not given. ``directory``: the
        store's Patients and PractitionerRoles, which accounts are linked to (without it a
        practitioner account linked to a PractitionerRole gets no token)."""
        home.mkdir(parents=True, exist_ok=True)
        shared = state is not None
        state = state if state is not None else MemoryAuthState()
        keys = KeyRing(home)
        tokens = TokenService(keys, RevocationList(state), issuer, audience)
        accounts = AccountRegistry(state, password_hasher)
        legacy = home / "accounts.json"  # where accounts were kept before the database
        if shared and legacy.exists() and not accounts.users() and not accounts.clients():
            accounts.import_file(legacy)
            legacy.rename(legacy.with_suffix(".json.imported"))
        authorization = AuthorizationServer(tokens, accounts, state, directory)
        feed = SecurityFeed(home, syslog)
        audit = AuditLog(home, keys, head_interval=AUDIT_HEAD_INTERVAL_SECONDS)
        return cls(keys, tokens, audit, accounts, authorization, feed, state, directory)


__all__ = ["DEFAULT_AUDIENCE", "DEFAULT_ISSUER", "SecurityServices"]
