"""Versioned schema migrations, applied when a store opens.

Each backend keeps ``migrations/NNNN_title.sql``; the ``schema_version`` table records what is
applied. Applying runs inside one write transaction holding the database's write lock
(SQLite ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), so two processes opening the same
database at once apply each migration exactly once, and a failed migration leaves nothing.
"""

from __future__ import annotations

from yteso.store.instants import now_utc
from yteso.store.sql_backend import Backend
from yteso.store.sql_files import load_migrations

MIGRATION_LOCK = "yteso:schema-migrations"


def apply_migrations(backend: Backend, package: str) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied now."""
    applied_now = []
    with backend.writing() as db:
        backend.lock(db, MIGRATION_LOCK)
        db.run(backend.queries["create_schema_version"])
        done = {int(row[0]) for row in db.rows(backend.queries["applied_versions"])}
        for migration in load_migrations(package):
            if migration.version in done:
                continue
            for statement in migration.statements:
                db.run(statement)
            moment = backend.dialect.bind_instant(now_utc())
            db.run(backend.queries["record_migration"], (migration.version, migration.name, moment))
            applied_now.append(migration.version)
    return applied_now
