"""Users and client applications of the authorization server, with argon2 passwords.

Users are citizens (linked to their Patient, found by CCCD: :mod:`yteso.auth.directory`),
practitioners (linked to a PractitionerRole, read again at each token for their Practitioner and
facility Organization; or, for accounts made before, to a Practitioner and a facility id stated
on the account), administrators (manage users and
clients) and auditors (read the audit trail, no clinical data). Clients are SMART apps: public
ones (authorization code + PKCE) and backend services that authenticate with
``private_key_jwt`` (their public JWKS is registered here). All of it, and the failed-login
counters (throttling), lives in the shared :class:`~yteso.auth.state.AuthState`, so every server
process of a database sees the same accounts and the same lockouts.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from yteso.auth.scopes import ScopeSet
from yteso.auth.state import AuthState
from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json

ROLES = ("citizen", "practitioner", "administrator", "auditor")
# Roles that run the platform and read no clinical data, whatever scopes a client asks for:
# administrators manage users and clients, auditors read the audit trail.
NON_CLINICAL_ROLES = frozenset({"administrator", "auditor"})
MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
MIN_PASSWORD_LENGTH = 12
USER, CLIENT, FAILURE = "user", "client", "login-failure:"


@dataclass(frozen=True)
class UserAccount:
    username: str
    password_hash: str
    role: str
    patient: str | None = None  # citizen: their Patient id
    fhir_user: str | None = None  # "Practitioner/123", "Patient/abc"
    facility: str | None = None  # practitioner: Organization id of their facility
    # practitioner: PractitionerRole id; when set, its practitioner and organization replace
    # fhir_user and facility in every token (read at token time)
    practitioner_role: str | None = None

    def public(self) -> Json:
        """The account without its password hash (for listings)."""
        return {k: v for k, v in asdict(self).items() if k != "password_hash" and v is not None}


@dataclass(frozen=True)
class ClientApp:
    client_id: str
    redirect_uris: tuple[str, ...] = ()
    scope: str = ""  # the most the client may be granted
    jwks: Json | None = None  # backend services: public keys for private_key_jwt
    name: str = ""

    def public(self) -> Json:
        return {**asdict(self), "redirect_uris": list(self.redirect_uris)}


class LoginRefused(Exception):
    """Wrong user name or password, or too many failures (the message does not say which)."""


class AccountRegistry:
    def __init__(self, state: AuthState, hasher: PasswordHasher | None = None) -> None:
        """``hasher``: argon2id with the library's defaults (RFC 9106 low-memory) unless given."""
        self.state = state
        self.hasher = hasher or PasswordHasher()
        # Checked when the user does not exist, so both paths cost one argon2 verification.
        self._dummy_hash = self.hasher.hash(secrets.token_hex(8))

    def user(self, username: str) -> UserAccount | None:
        raw = self.state.get(USER, username)
        return UserAccount(**orjson.loads(raw)) if raw is not None else None

    def client(self, client_id: str) -> ClientApp | None:
        raw = self.state.get(CLIENT, client_id)
        return _client(orjson.loads(raw)) if raw is not None else None

    def users(self) -> list[UserAccount]:
        return [UserAccount(**orjson.loads(raw)) for _, raw in self.state.items(USER)]

    def clients(self) -> list[ClientApp]:
        return [_client(orjson.loads(raw)) for _, raw in self.state.items(CLIENT)]

    def add_user(self, username: str, password: str, role: str, **links: str | None) -> UserAccount:
        """Create or replace a user (a new password replaces the old hash)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        if not username.strip() or len(username) > 200:
            raise ValueError("a user name needs 1 to 200 characters")
        user = UserAccount(username, self.hasher.hash(password), role, **links)
        self.state.put(USER, username, orjson.dumps(asdict(user)).decode())
        return user

    def add_client(self, client: ClientApp) -> ClientApp:
        if not client.client_id.strip() or len(client.client_id) > 200:
            raise ValueError("a client_id needs 1 to 200 characters")
        try:
            ScopeSet.parse(client.scope)
        except Invalid as invalid:
            raise ValueError(str(invalid)) from invalid
        self.state.put(CLIENT, client.client_id, orjson.dumps(asdict(client)).decode())
        return client

    def remove_user(self, username: str) -> bool:
        self.state.delete(FAILURE + username)
        return self.state.delete(USER, username) > 0

    def remove_client(self, client_id: str) -> bool:
        return self.state.delete(CLIENT, client_id) > 0

    def import_file(self, path: Path) -> int:
        """Take the users and clients of a former ``accounts.json`` (kept before the database
        held them); returns how many records were imported."""
        raw = orjson.loads(path.read_bytes())
        for user in raw.get("users", []):
            self.state.put(USER, user["username"], orjson.dumps(user).decode())
        for client in raw.get("clients", []):
            self.state.put(CLIENT, client["client_id"], orjson.dumps(client).decode())
        return len(raw.get("users", [])) + len(raw.get("clients", []))

    def login(self, username: str, password: str) -> UserAccount:
        locked = self.state.count(FAILURE + username) >= MAX_FAILURES
        user = self.user(username)
        try:
            self.hasher.verify(user.password_hash if user else self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            user = None
        if locked or user is None:
            expires = time.time() + LOCKOUT_SECONDS
            self.state.put(FAILURE + username, secrets.token_hex(8), "", expires)
            raise LoginRefused("Unknown user name or wrong password, or too many attempts")
        self.state.delete(FAILURE + username)
        return user


def _client(raw: Json) -> ClientApp:
    return ClientApp(**{**raw, "redirect_uris": tuple(raw.get("redirect_uris", ()))})


__all__ = [
    "NON_CLINICAL_ROLES",
    "ROLES",
    "AccountRegistry",
    "ClientApp",
    "LoginRefused",
    "UserAccount",
]
