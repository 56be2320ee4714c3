"""What differs between SQLite and PostgreSQL when the shared code renders or reads SQL.

Running SQL (connections, transactions, COPY) lives in each backend; this is only the
rendering side: the placeholder style and how instants and booleans travel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from yteso.store.instants import format_instant, parse_instant


class SqlDialect:
    """PostgreSQL (psycopg) conventions; :class:`SqliteDialect` overrides what differs."""

    name = "postgresql"
    placeholder = "%s"
    row_identity = "ctid"  # a unique, comparable identity of a table row (tie-breaks)
    # whether this database text-indexes _content (a deployment option, migration 0009; the
    # store sets it on its backend's own dialect: SQLite adds the FTS5 MATCH only then)
    content_index = False

    def bind_instant(self, moment: datetime) -> object:
        return moment.astimezone(UTC)

    def read_instant(self, raw: object) -> datetime:
        assert isinstance(raw, datetime)
        return raw.astimezone(UTC)


class SqliteDialect(SqlDialect):
    """SQLite keeps instants as fixed-width ISO text (text order is time order)."""

    name = "sqlite"
    placeholder = "?"
    row_identity = "rowid"

    def bind_instant(self, moment: datetime) -> object:
        return format_instant(moment)

    def read_instant(self, raw: object) -> datetime:
        assert isinstance(raw, str)
        return parse_instant(raw)


class SqlParams:
    """Collects bound values while a statement is written; never formats a value into SQL."""

    def __init__(self, dialect: SqlDialect) -> None:
        self.dialect = dialect
        self.values: list[object] = []

    def bind(self, value: object) -> str:
        self.values.append(value)
        return self.dialect.placeholder

    def bind_all(self, values: Sequence[object]) -> str:
        return ", ".join(self.bind(value) for value in values)
