"""Reads shared by the store and its sessions: read, vread, search, history.

https://hl7.org/fhir/R4/http.html#read, #vread, #history; search in :mod:`search_sql`.
"""

from __future__ import annotations

from datetime import datetime

from yteso.fhir.errors import Gone, Invalid, NotFound
from yteso.store.base import SearchQuery, SearchResult, StoredVersion
from yteso.store.paging_cursors import PageCursor, decode_cursor, encode_cursor
from yteso.store.search_includes import included_versions
from yteso.store.search_sql import Statement, cursor_values, plan_search
from yteso.store.sql_backend import Backend, Executor, Row
from yteso.store.sql_dialect import SqlParams

MAX_HISTORY_COUNT = 1000


def _text_bytes(value: object) -> bytes:
    assert isinstance(value, str)
    return value.encode()


def read_current(backend: Backend, db: Executor, resource_type: str, id: str) -> StoredVersion:
    found = db.rows(backend.queries["read_current"], (resource_type, id))
    if not found:
        raise NotFound(f"{resource_type}/{id} is not known", expression=resource_type)
    version, last_updated, deleted, body, method = found[0]
    if deleted:
        raise Gone(f"{resource_type}/{id} was deleted (version {version})")
    moment = backend.dialect.read_instant(last_updated)
    return StoredVersion(resource_type, id, version, moment, False, _text_bytes(body), method)


def read_version(
    backend: Backend, db: Executor, resource_type: str, id: str, version: int
) -> StoredVersion:
    found = db.rows(backend.queries["read_version"], (resource_type, id, version))
    if not found:
        raise NotFound(f"{resource_type}/{id}/_history/{version} is not known")
    last_updated, deleted, body, method = found[0]
    if deleted:
        raise Gone(f"{resource_type}/{id} version {version} is a deletion")
    moment = backend.dialect.read_instant(last_updated)
    return StoredVersion(resource_type, id, version, moment, False, _text_bytes(body), method)


def stored_from_row(backend: Backend, row: Row) -> StoredVersion:
    """A row of ``resource_type, id, version, last_updated, body, method`` (current table)."""
    resource_type, id, version, last_updated, body, method = row[:6]
    moment = backend.dialect.read_instant(last_updated)
    return StoredVersion(resource_type, id, version, moment, False, _text_bytes(body), method)


def run_search(
    backend: Backend, db: Executor, resource_type: str | None, query: SearchQuery, now: datetime
) -> SearchResult:
    def probe(statement: Statement) -> int:
        return int(db.rows(statement.sql, statement.params)[0][0])

    plan = plan_search(backend.dialect, resource_type, query, now, probe)
    total = None
    if plan.total is not None:
        total = int(db.rows(plan.total.sql, plan.total.params)[0][0])
    if plan.count == 0:
        return SearchResult([], total)
    rows = db.rows(plan.page.sql, plan.page.params)
    for statement in plan.more:
        if len(rows) > plan.count:
            break
        rows += db.rows(statement.sql, statement.params)
    more = len(rows) > plan.count
    rows = rows[: plan.count]
    forward = plan.cursor is None or plan.cursor.forward
    if not forward:
        rows.reverse()
    next_cursor = previous_cursor = None
    if rows:
        # Forward pages know whether more follow; a backward page knows whether more precede.
        has_next = more if forward else True
        has_previous = (plan.cursor is not None) if forward else more
        if has_next:
            next_cursor = encode_cursor(
                PageCursor(cursor_values(plan.keys, rows[-1], backend.dialect))
            )
        if has_previous:
            first = cursor_values(plan.keys, rows[0], backend.dialect)
            previous_cursor = encode_cursor(PageCursor(first, forward=False))
    matches = [stored_from_row(backend, row) for row in rows]
    included = included_versions(backend, db, query.params, matches)
    return SearchResult(matches, total, next_cursor, previous_cursor, included)


def run_history(
    backend: Backend,
    db: Executor,
    resource_type: str | None,
    id: str | None,
    since: datetime | None,
    count: int,
    cursor: str | None,
) -> SearchResult:
    """Versions newest first (by the global sequence), paged by sequence number."""
    params = SqlParams(backend.dialect)
    conditions = []
    if resource_type is not None:
        conditions.append(f"resource_type = {params.bind(resource_type)}")
    if id is not None:
        conditions.append(f"id = {params.bind(id)}")
    if since is not None:
        conditions.append(f"last_updated >= {params.bind(backend.dialect.bind_instant(since))}")
    if cursor is not None:
        before = decode_cursor(cursor, 1).values[0]
        if not isinstance(before, int):
            raise Invalid("the paging cursor is not a history cursor", expression="_cursor")
        conditions.append(f"seq < {params.bind(before)}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    limit = max(0, min(count, MAX_HISTORY_COUNT))
    sql = (
        "SELECT resource_type, id, version, last_updated, deleted, body, method, seq"
        f" FROM resource_history{where} ORDER BY seq DESC LIMIT {params.bind(limit + 1)}"
    )
    rows = db.rows(sql, params.values)
    more = len(rows) > limit
    versions = [
        StoredVersion(t, i, v, backend.dialect.read_instant(lu), bool(d), _text_bytes(body), method)
        for t, i, v, lu, d, body, method, _seq in rows[:limit]
    ]
    next_cursor = encode_cursor(PageCursor((rows[limit - 1][7],))) if more and limit else None
    return SearchResult(versions, None, next_cursor)
