"""Where the authorization server keeps what several server processes must share.

Users, clients, authorization codes, refresh tokens, revoked token ids, used client-assertion
``jti``s and failed-login counters are *records*: a kind, a name, a JSON text value and an
optional expiry (epoch seconds). :class:`AuthState` is what ``yteso.auth`` needs of a store;
``yteso.store.auth_records`` implements it over the platform database (SQLite or PostgreSQL),
so that every process serving one database sees the same state. :class:`MemoryAuthState` keeps
it in one process (tests of the rules alone).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class AuthState(Protocol):
    def put(self, kind: str, name: str, value: str, expires_at: float | None = None) -> None:
        """Create or replace a record."""
        ...

    def add(self, kind: str, name: str, value: str, expires_at: float | None = None) -> bool:
        """Create a record unless a live one exists (atomic across processes): False then."""
        ...

    def take(self, kind: str, name: str) -> str | None:
        """Remove a record and return its value if it was live (at most one caller gets it)."""
        ...

    def get(self, kind: str, name: str) -> str | None: ...

    def items(self, kind: str) -> list[tuple[str, str]]:
        """The live records of a kind as (name, value), ordered by name."""
        ...

    def count(self, kind: str) -> int: ...

    def delete(self, kind: str, name: str | None = None) -> int:
        """Remove one record, or every record of the kind (``name`` None); returns how many."""
        ...


def _live(expires_at: float | None, now: float) -> bool:
    return expires_at is None or expires_at > now


class MemoryAuthState:
    """An :class:`AuthState` in this process only (one server process, or tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], tuple[str, float | None]] = {}

    def put(self, kind: str, name: str, value: str, expires_at: float | None = None) -> None:
        with self._lock:
            self._records[kind, name] = (value, expires_at)

    def add(self, kind: str, name: str, value: str, expires_at: float | None = None) -> bool:
        with self._lock:
            found = self._records.get((kind, name))
            if found is not None and _live(found[1], time.time()):
                return False
            self._records[kind, name] = (value, expires_at)
            return True

    def take(self, kind: str, name: str) -> str | None:
        with self._lock:
            found = self._records.pop((kind, name), None)
        return found[0] if found is not None and _live(found[1], time.time()) else None

    def get(self, kind: str, name: str) -> str | None:
        found = self._records.get((kind, name))
        return found[0] if found is not None and _live(found[1], time.time()) else None

    def items(self, kind: str) -> list[tuple[str, str]]:
        now = time.time()
        with self._lock:
            records = list(self._records.items())
        found = [(n, v) for (k, n), (v, e) in records if k == kind and _live(e, now)]
        return sorted(found)

    def count(self, kind: str) -> int:
        return len(self.items(kind))

    def delete(self, kind: str, name: str | None = None) -> int:
        with self._lock:
            keys = [k for k in self._records if k[0] == kind and (name is None or k[1] == name)]
            for key in keys:
                del self._records[key]
            return len(keys)


__all__ = ["AuthState", "MemoryAuthState"]
