"""The :class:`~yteso.store.base.Store` over a SQL backend (SQLite or PostgreSQL).

One implementation for both databases: the backend runs SQL, :mod:`sql_dialect` renders
what differs. https://hl7.org/fhir/R4/http.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from yteso.fhir.errors import Invalid, Issue
from yteso.fhir.types import Json
from yteso.store.base import SearchQuery, SearchResult, StoredVersion
from yteso.store.bulk_prepare import PreparedResource, prepare_resource
from yteso.store.index_rows import IndexRow
from yteso.store.instants import now_utc
from yteso.store.meta_stamp import restamp_version
from yteso.store.search_sql import supported_search_params
from yteso.store.sql_backend import Backend, Executor, VersionRow
from yteso.store.sql_reads import (
    read_current,
    read_version,
    run_history,
    run_search,
    stored_from_row,
)
from yteso.store.sql_session import SqlSession

ITER_PAGE = 1000
_EXISTING_CHUNK = 5000


class SqlStore:
    """A FHIR resource store on one database; safe to share between threads."""

    def __init__(self, url: str, backend: Backend, clock: Callable[[], datetime] = now_utc):
        self.url = url
        self.backend = backend
        self.dialect = backend.dialect.name
        self.clock = clock

    @contextmanager
    def session(self) -> Iterator[SqlSession]:
        """One atomic transaction: everything in it is committed together or not at all."""
        with self.backend.writing() as db:
            yield SqlSession(self.backend, db, self.clock)

    def read(self, resource_type: str, id: str) -> StoredVersion:
        with self.backend.reading() as db:
            return read_current(self.backend, db, resource_type, id)

    def vread(self, resource_type: str, id: str, version: int) -> StoredVersion:
        with self.backend.reading() as db:
            return read_version(self.backend, db, resource_type, id, version)

    def history(
        self,
        resource_type: str | None = None,
        id: str | None = None,
        *,
        since: datetime | None = None,
        count: int = 100,
        cursor: str | None = None,
    ) -> SearchResult:
        with self.backend.reading() as db:
            return run_history(self.backend, db, resource_type, id, since, count, cursor)

    def search(self, resource_type: str | None, query: SearchQuery) -> SearchResult:
        with self.backend.reading() as db:
            return run_search(self.backend, db, resource_type, query, self.clock())

    def supported_search_params(self, resource_type: str | None) -> frozenset[str]:
        return supported_search_params(resource_type)

    def counts(self) -> dict[str, int]:
        with self.backend.reading() as db:
            return {t: int(n) for t, n in db.rows(self.backend.queries["counts"])}

    def iter_current(self, resource_type: str | None = None) -> Iterator[StoredVersion]:
        """Every current resource (of one type or all) in write order, a page at a time."""
        after = 0
        while True:
            with self.backend.reading() as db:
                if resource_type is None:
                    params: tuple[object, ...] = (after, ITER_PAGE)
                    rows = db.rows(self.backend.queries["iter_current_all"], params)
                else:
                    params = (resource_type, after, ITER_PAGE)
                    rows = db.rows(self.backend.queries["iter_current_type"], params)
            for row in rows:
                yield stored_from_row(self.backend, row)
            if len(rows) < ITER_PAGE:
                return
            after = rows[-1][6]

    def bulk_write(self, resources: Sequence[Json]) -> int:
        """Validate all, then write all in one transaction (ids kept, or assigned when
        absent); raises :class:`Invalid` with every issue of every resource before writing."""
        now = self.clock()
        prepared: list[PreparedResource] = []
        problems: list[Issue] = []
        for position, resource in enumerate(resources):
            outcome = prepare_resource(resource, now)
            if isinstance(outcome, list):
                problems.extend(_located(issue, position) for issue in outcome)
            else:
                prepared.append(outcome)
        if problems:
            raise Invalid(issues=problems)
        return self.write_prepared(prepared)

    def write_prepared(self, prepared: Sequence[PreparedResource]) -> int:
        """Write already validated resources in one transaction at bulk speed."""
        if not prepared:
            return 0
        with self.backend.writing() as db:
            existing = self._existing(db, prepared)
            latest = dict(existing)
            rows: list[VersionRow] = []
            for item in prepared:
                key = (item.resource_type, item.id)
                version = latest.get(key, 0) + 1
                latest[key] = version
                body = item.body if version == 1 else restamp_version(item.body, version)
                rows.append(
                    VersionRow(
                        item.resource_type,
                        item.id,
                        version,
                        item.last_updated,
                        False,
                        item.method,
                        item.compartment,
                        body,
                    )
                )
            seqs = self.backend.reserve_seqs(db, len(rows))
            self.backend.insert_versions(db, rows, seqs, set(latest) - set(existing))
            entries = [(item.resource_type, item.id, item.index_rows) for item in prepared]
            self.backend.write_index_rows(db, _last_entries(entries), set(existing))
        return len(rows)

    def _existing(
        self, db: Executor, prepared: Sequence[PreparedResource]
    ) -> dict[tuple[str, str], int]:
        by_type: dict[str, list[str]] = {}
        for item in prepared:
            by_type.setdefault(item.resource_type, []).append(item.id)
        found: dict[tuple[str, str], int] = {}
        for resource_type, ids in by_type.items():
            for start in range(0, len(ids), _EXISTING_CHUNK):
                chunk = ids[start : start + _EXISTING_CHUNK]
                for id, version in self.backend.existing_versions(db, resource_type, chunk).items():
                    found[(resource_type, id)] = version
        return found

    def close(self) -> None:
        self.backend.close()


def _last_entries(
    entries: list[tuple[str, str, list[IndexRow]]],
) -> list[tuple[str, str, list[IndexRow]]]:
    """A resource repeated within one batch keeps only its last version's rows."""
    last = {(t, i): (t, i, rows) for t, i, rows in entries}
    return list(last.values())


def _located(issue: Issue, position: int) -> Issue:
    return Issue(
        issue.severity, issue.code, f"resource {position}: {issue.diagnostics}", issue.expression
    )
