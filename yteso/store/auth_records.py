"""The authorization server's shared state in the platform database (migration 0006).

Implements :class:`yteso.auth.state.AuthState` over table ``auth_record``: each operation is
one statement in autocommit, atomic on its own (``INSERT .. ON CONFLICT .. RETURNING``,
``DELETE .. RETURNING``), so several server processes on one SQLite file or PostgreSQL
database never both redeem one code or both accept one assertion ``jti``. Expired records are
invisible at once and deleted now and then.
"""

from __future__ import annotations

import time

from yteso.store.base import Store
from yteso.store.sql_backend import Backend
from yteso.store.sql_store import SqlStore

_LIVE = "(expires_at IS NULL OR expires_at > {p})"
PURGE_EVERY_SECONDS = 60.0


class SqlAuthRecords:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        p = backend.dialect.placeholder
        live = _LIVE.format(p=p)
        self._sql = {
            "put": f"INSERT INTO auth_record (kind, name, value, expires_at) VALUES ({p}, {p}, "
            f"{p}, {p}) ON CONFLICT (kind, name) DO UPDATE SET value = excluded.value, "
            "expires_at = excluded.expires_at",
            # Replaces only an expired record; RETURNING says whether a row was written.
            "add": f"INSERT INTO auth_record (kind, name, value, expires_at) VALUES ({p}, {p}, "
            f"{p}, {p}) ON CONFLICT (kind, name) DO UPDATE SET value = excluded.value, "
            "expires_at = excluded.expires_at WHERE auth_record.expires_at IS NOT NULL AND "
            f"auth_record.expires_at <= {p} RETURNING name",
            "take": f"DELETE FROM auth_record WHERE kind = {p} AND name = {p} "
            "RETURNING value, expires_at",
            "get": f"SELECT value FROM auth_record WHERE kind = {p} AND name = {p} AND {live}",
            "items": f"SELECT name, value FROM auth_record WHERE kind = {p} AND {live} "
            "ORDER BY name",
            "count": f"SELECT count(*) FROM auth_record WHERE kind = {p} AND {live}",
            "delete_one": f"DELETE FROM auth_record WHERE kind = {p} AND name = {p}",
            "delete_kind": f"DELETE FROM auth_record WHERE kind = {p}",
            "purge": f"DELETE FROM auth_record WHERE expires_at <= {p}",
        }
        self._purged_at = 0.0

    def _purge(self, now: float) -> None:
        if now - self._purged_at < PURGE_EVERY_SECONDS:
            return
        self._purged_at = now
        with self.backend.reading() as db:
            db.run(self._sql["purge"], (now,))

    def put(self, kind: str, name: str, value: str, expires_at: float | None = None) -> None:
        with self.backend.reading() as db:
            db.run(self._sql["put"], (kind, name, value, expires_at))

    def add(self, kind: str, name: str, value: str, expires_at: float | None = None) -> bool:
        now = time.time()
        self._purge(now)
        with self.backend.reading() as db:
            return bool(db.rows(self._sql["add"], (kind, name, value, expires_at, now)))

    def take(self, kind: str, name: str) -> str | None:
        with self.backend.reading() as db:
            rows = db.rows(self._sql["take"], (kind, name))
        if not rows:
            return None
        value, expires_at = rows[0]
        return str(value) if expires_at is None or float(expires_at) > time.time() else None

    def get(self, kind: str, name: str) -> str | None:
        with self.backend.reading() as db:
            rows = db.rows(self._sql["get"], (kind, name, time.time()))
        return str(rows[0][0]) if rows else None

    def items(self, kind: str) -> list[tuple[str, str]]:
        with self.backend.reading() as db:
            rows = db.rows(self._sql["items"], (kind, time.time()))
        return [(str(name), str(value)) for name, value in rows]

    def count(self, kind: str) -> int:
        with self.backend.reading() as db:
            return int(db.rows(self._sql["count"], (kind, time.time()))[0][0])

    def delete(self, kind: str, name: str | None = None) -> int:
        with self.backend.reading() as db:
            if name is None:
                found = db.rows(self._sql["delete_kind"] + " RETURNING name", (kind,))
            else:
                found = db.rows(self._sql["delete_one"] + " RETURNING name", (kind, name))
        return len(found)


def auth_records(store: Store) -> SqlAuthRecords:
    """The auth state kept in ``store``'s database."""
    if not isinstance(store, SqlStore):
        raise TypeError("the authorization server's state needs a SQL store")
    return SqlAuthRecords(store.backend)


__all__ = ["SqlAuthRecords", "auth_records"]
