"""Users and client applications of the authorization server, with argon2 passwords.

Users are citizens (linked to their Patient, found by CCCD), practitioners (linked to
Practitioner/PractitionerRole and a facility Organization), administrators and auditors. Clients
are SMART apps: public ones (authorization code + PKCE) and backend services that authenticate
with ``private_key_jwt`` (their public JWKS is registered here). Kept in one JSON file (mode
0600) in the auth home; a failed login counts against the user name (throttling).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from yteso.fhir.types import Json

ROLES = ("citizen", "practitioner", "administrator", "auditor")
MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60


@dataclass(frozen=True)
class UserAccount:
    username: str
    password_hash: str
    role: str
    patient: str | None = None  # citizen: their Patient id
    fhir_user: str | None = None  # "Practitioner/123", "Patient/abc"
    facility: str | None = None  # practitioner: Organization id of their facility


@dataclass(frozen=True)
class ClientApp:
    client_id: str
    redirect_uris: tuple[str, ...] = ()
    scope: str = ""  # the most the client may be granted
    jwks: Json | None = None  # backend services: public keys for private_key_jwt
    name: str = ""


class LoginRefused(Exception):
    """Wrong user name or password, or too many failures (the message does not say which)."""


@dataclass
class _Throttle:
    failures: list[float] = field(default_factory=list)


class AccountRegistry:
    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        """``hasher``: argon2id with the library's defaults (RFC 9106 low-memory) unless given."""
        self.path = path
        self.hasher = hasher or PasswordHasher()
        # Checked when the user does not exist, so both paths cost one argon2 verification.
        self._dummy_hash = self.hasher.hash(secrets.token_hex(8))
        self._lock = threading.Lock()
        self._throttle: dict[str, _Throttle] = {}
        raw = orjson.loads(path.read_bytes()) if path.exists() else {"users": [], "clients": []}
        self.users = {u["username"]: UserAccount(**u) for u in raw["users"]}
        self.clients = {c["client_id"]: _client(c) for c in raw["clients"]}

    def _save(self) -> None:
        data = {
            "users": [asdict(u) for u in self.users.values()],
            "clients": [asdict(c) for c in self.clients.values()],
        }
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(orjson.dumps(data))

    def add_user(self, username: str, password: str, role: str, **links: str | None) -> UserAccount:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < 12:
            raise ValueError("a password needs at least 12 characters")
        with self._lock:
            user = UserAccount(username, self.hasher.hash(password), role, **links)
            self.users[username] = user
            self._save()
            return user

    def add_client(self, client: ClientApp) -> ClientApp:
        with self._lock:
            self.clients[client.client_id] = client
            self._save()
            return client

    def login(self, username: str, password: str) -> UserAccount:
        now = time.monotonic()
        with self._lock:
            throttle = self._throttle.setdefault(username, _Throttle())
            throttle.failures = [t for t in throttle.failures if now - t < LOCKOUT_SECONDS]
            locked = len(throttle.failures) >= MAX_FAILURES
        user = self.users.get(username)
        try:
            self.hasher.verify(user.password_hash if user else self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            user = None
        if locked or user is None:
            with self._lock:
                throttle.failures.append(now)
            raise LoginRefused("Unknown user name or wrong password, or too many attempts")
        with self._lock:
            throttle.failures.clear()
        return user


def _client(raw: Json) -> ClientApp:
    return ClientApp(**{**raw, "redirect_uris": tuple(raw.get("redirect_uris", ()))})


__all__ = ["ROLES", "AccountRegistry", "ClientApp", "LoginRefused", "UserAccount"]
