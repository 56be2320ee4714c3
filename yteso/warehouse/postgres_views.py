"""Run compiled views on PostgreSQL, directly over the live store's current resources.

https://www.postgresql.org/docs/current/functions-json.html: a view reads the current, not
deleted rows of its resource type as JSONB. The store's writes keep only the exact text
(``resource_history.body``); the parsed copies live in ``resource_json`` (seq -> JSONB, migration
0016, docs/dev/storage.md), a cache this module fills when a view first needs a type. Writing
the copy on every store write was ~10 % of a bulk load's CPU, and re-parsing the bodies on
every view run ~10x the view's CPU (docs/benchmarks.md, "Session 11: ... pgsrv2" and
"Session 13: ... pgjson"), so each version is parsed at most once, when first viewed. Against
reading a stored ``content`` (100k resources): a type's first run after a load costs its
bodies' parse (1.6x for Patient, 3.2x for Observation), a cached run the view plus the check
below over the type's keys (docs/benchmarks.md, "Session 13: ... pgjson").

An entry is keyed by the immutable history ``seq``, so it can never be stale: a write between
the fill and the view leaves the new version without an entry, and the view parses that one
body itself (``COALESCE`` calls ``resource_body_jsonb`` only where the join found no entry). Each
run also drops its type's entries no current row points to (superseded or deleted versions),
so the cache holds at most one entry per current resource of the types viewed. Paths use
native ``jsonb`` operators where the R4 cardinalities allow
(:mod:`yteso.warehouse.postgres_paths`), cells then come back typed; other cells come back as
``jsonb`` arrays, unwrapped here. The warehouse does not import the store package (DESIGN.md
layers): this SQL reads the documented schema.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.warehouse.postgres_paths import compile_postgres_view
from yteso.warehouse.view_definition import View

# resource_body_jsonb(seq) (migration 0016) parses the history's body: COALESCE calls it only
# where the cache has no entry. OFFSET 0 keeps the planner from pulling the sub-query up into
# the view, which copies the COALESCE into every path reading ``resource``: an uncached body
# would be parsed once per path.
CURRENT_RESOURCES = (
    "(SELECT COALESCE(j.content, resource_body_jsonb(c.seq)) AS resource "
    "FROM resource_current c LEFT JOIN resource_json j "
    "ON j.resource_type = c.resource_type AND j.seq = c.seq "
    "WHERE c.resource_type = {kind} AND NOT c.deleted OFFSET 0)"
)
# The current versions of one type not cached yet; ON CONFLICT: another session's run may be
# filling the same type at once.
FILL = (
    "INSERT INTO resource_json (resource_type, seq, content) "
    "SELECT c.resource_type, c.seq, CAST(h.body AS jsonb) FROM resource_current c "
    "JOIN resource_history h ON h.seq = c.seq "
    "WHERE c.resource_type = %(type)s AND NOT c.deleted "
    "AND NOT EXISTS (SELECT 1 FROM resource_json j "
    "WHERE j.resource_type = c.resource_type AND j.seq = c.seq) "
    "ON CONFLICT DO NOTHING"
)
# The type's entries no current row points to: superseded versions, and the last version of a
# deleted resource (its current row points to the delete marker, which never has an entry).
# The stale seqs are found first, then deleted by key: once (auto)vacuum has marked the pages
# all-visible the search reads the primary key index alone, where a DELETE joining the table
# scanned its whole heap, ~1.4 KB per entry (docs/benchmarks.md "Session 13: ... pgjson").
PRUNE = (
    "DELETE FROM resource_json WHERE resource_type = %(type)s AND seq = ANY(ARRAY("
    "SELECT j.seq FROM resource_json j WHERE j.resource_type = %(type)s "
    "AND NOT EXISTS (SELECT 1 FROM resource_current c "
    "WHERE c.resource_type = %(type)s AND c.seq = j.seq AND NOT c.deleted)))"
)

# What a run has to do: the type's current versions not cached, its entries no current row
# points to. One join of the type's keys on both sides (index-only scans of
# resource_current_type_seq and resource_json's primary key): the cost follows the type's rows,
# not the store's.
CHECK = (
    "SELECT count(*) FILTER (WHERE j.seq IS NULL), count(*) FILTER (WHERE c.seq IS NULL) "
    "FROM (SELECT seq FROM resource_current WHERE resource_type = %(type)s AND NOT deleted) c "
    "FULL JOIN (SELECT seq FROM resource_json WHERE resource_type = %(type)s) j "
    "ON j.seq = c.seq"
)
# After a fill of at least this many entries a run on its own connection analyzes the table
# (autovacuum's analyze would, on its schedule): never analyzed, its size was guessed from its
# pages (2M rows for 100k), and the views' estimates crossed the JIT's thresholds.
ANALYZE_AFTER = 1000

# Why a fill may fail where the view itself can still run: the role or the transaction cannot
# write, or a concurrent run's fill or prune got in the way.
CANNOT_FILL = (
    errors.InsufficientPrivilege,
    errors.ReadOnlySqlTransaction,
    errors.DeadlockDetected,
    errors.SerializationFailure,
    errors.LockNotAvailable,
    errors.QueryCanceled,
)


def run_postgres(view: View, source: str | psycopg.Connection[Any]) -> list[Json]:
    """The rows of ``view`` over the store at ``source`` (a URL or an open connection)."""
    kind = "'" + view.resource.replace("'", "''") + "'"
    compiled = compile_postgres_view(view, CURRENT_RESOURCES.format(kind=kind))
    if isinstance(source, str):
        with psycopg.connect(source) as connection:
            if (fill_cache(connection, view.resource) or 0) >= ANALYZE_AFTER:
                _analyze(connection)
            return _run(connection, compiled.sql, compiled.columns)
    fill_cache(source, view.resource)
    return _run(source, compiled.sql, compiled.columns)


def fill_cache(connection: psycopg.Connection[Any], resource_type: str) -> int | None:
    """Cache the JSONB of ``resource_type``'s current versions and drop stale entries; the
    number of entries made, or None when it could not write (a read-only role or transaction:
    the view stays correct, parsing what is not cached). ``connection.transaction()`` commits
    at once on an idle connection and is a savepoint inside the caller's open transaction (the
    entries then commit with it, and a failure here leaves the caller's transaction usable)."""
    try:
        with connection.transaction(), connection.cursor() as cursor:
            kind = {"type": resource_type}
            found = cursor.execute(CHECK, kind).fetchone()
            missing, stale = found if found else (0, 0)
            made = cursor.execute(FILL, kind).rowcount if missing else 0
            if stale:
                cursor.execute(PRUNE, kind)
    except CANNOT_FILL:
        return None
    return made


def _analyze(connection: psycopg.Connection[Any]) -> None:
    """Not in a caller's transaction: its lock would be held until that transaction ends."""
    try:
        with connection.transaction():
            connection.execute("ANALYZE resource_json")
    except CANNOT_FILL:
        pass  # autovacuum will


def _run(connection: psycopg.Connection[Any], sql: str, columns: Any) -> list[Json]:
    try:
        with connection.cursor() as cursor:
            records = cursor.execute(sql).fetchall()  # no parameters: a % stays literal
    except psycopg.Error as error:
        connection.rollback()
        raise Invalid(f"the view failed on PostgreSQL: {error}") from error
    rows: list[Json] = []
    for record in records:
        row: Json = {}
        for column, cell in zip(columns, record, strict=True):
            if column.kind == "value":
                row[column.name] = cell
                continue
            items = cell or []
            if column.kind == "list":
                row[column.name] = items
            elif len(items) > 1:
                raise Invalid(f"column {column.name} has several values")
            else:
                row[column.name] = items[0] if items else None
        rows.append(row)
    return rows
