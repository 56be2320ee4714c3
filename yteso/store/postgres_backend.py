"""PostgreSQL backend: psycopg 3 with a connection pool; COPY for bulk writes.

Writers of one resource (or of one set of conditional criteria) serialise on a transaction
advisory lock keyed by a hash of the text (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS),
so version-aware updates and conditional creates are exact under READ COMMITTED without
serialisation retries. Reads serve the exact stored text; the warehouse keeps its own JSONB
copies of current versions (``resource_json``, filled when a view needs them; migration 0016).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from yteso.fhir.errors import Conflict
from yteso.store.copy_binary import current_stream, history_stream
from yteso.store.index_blocks import BlockFormat, IndexBlock, Key
from yteso.store.index_rows import IndexRow
from yteso.store.index_tables import INDEX_COLUMNS, copy_statement, insert_statement, rows_by_table
from yteso.store.param_keys import cached_key
from yteso.store.sql_backend import Executor, Row, VersionRow
from yteso.store.sql_dialect import SqlDialect
from yteso.store.sql_files import load_queries

POOL_MAX_SIZE = 10
_COPY_THRESHOLD = 500  # index rows: below this, inserts; above, COPY
_CLEAR_ONE = (
    "WITH "
    + ", ".join(
        f"d_{table} AS (DELETE FROM search_{table} WHERE resource_type = %s AND id = %s)"
        for table in INDEX_COLUMNS
    )
    + " SELECT 1"
)
_RETRYABLE = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.UniqueViolation,
)


class PostgresExecutor:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self.connection.execute(sql, params).fetchall()

    def run(self, sql: str, params: Sequence[object] = ()) -> None:
        self.connection.execute(sql, params)

    def run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def copy_rows(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self.connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    def copy_data(self, sql: str, data: bytes) -> None:
        """COPY rows already formatted (COPY text, or binary for a ``FORMAT binary``
        statement): one ``write`` instead of one per row."""
        with self.connection.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(data)


def _configure(connection: psycopg.Connection[Any]) -> None:
    """No JIT: the store's statements are short index lookups, and JIT compiling a plan the
    planner guesses is large (a count over a big set) costs more than it saves (measured in
    docs/benchmarks.md "Search at 1,000,000 resources")."""
    connection.execute("SET jit = off")


class PostgresBackend:
    dialect: SqlDialect = SqlDialect()
    index_block_format: BlockFormat = "copy"
    # One index build per core of this 2-core machine, with no parallel worker (docs/benchmarks.md,
    # "BUILD" and "PGSERVER"); the pool has room for them.
    index_build_connections = 2
    # Not forked: a worker orphaned by a killed load would hold the bulk-load lock's session.
    fork_workers = False

    def __init__(self, url: str) -> None:
        self.queries = load_queries("yteso.store.postgres")
        # The URL goes to libpq unchanged (``?options=-csearch_path%3D...`` included).
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX_SIZE,
            kwargs={"autocommit": True},
            configure=_configure,
            open=True,
        )

    @contextmanager
    def reading(self) -> Iterator[Executor]:
        with self.pool.connection() as connection:
            yield PostgresExecutor(connection)

    @contextmanager
    def writing(self) -> Iterator[Executor]:
        """A transaction; losing a deadlock or a uniqueness race to a concurrent writer is a
        :class:`Conflict` (409: the client may retry), not a server error."""
        try:
            with self.pool.connection() as connection, connection.transaction():
                yield PostgresExecutor(connection)
        except _RETRYABLE as exc:
            raise Conflict(
                f"a concurrent write conflicted with this transaction; retry ({exc.sqlstate})"
            ) from exc

    @contextmanager
    def index_build(self) -> Iterator[Executor]:
        """``SET LOCAL`` settings: they end with the transaction."""
        with self.writing() as db:
            db.rows(self.queries["index_build_settings"])
            yield db

    def lock(self, db: Executor, key: str) -> None:
        db.rows(self.queries["lock_key"], (key,))

    def lock_many(self, db: Executor, keys: Sequence[str]) -> None:
        if keys:
            db.rows(self.queries["lock_keys"], (list(keys),))

    def locked_version(self, db: Executor, resource_type: str, id: str) -> tuple[int, bool] | None:
        """Lock and look-up in one network round trip (libpq pipeline mode); the look-up is a
        separate statement, so under READ COMMITTED it sees whatever the lock waited for."""
        assert isinstance(db, PostgresExecutor)
        connection = db.connection
        with connection.pipeline():
            connection.execute(self.queries["lock_key"], (f"{resource_type}/{id}",))
            cursor = connection.execute(self.queries["current_version"], (resource_type, id))
        found = cursor.fetchone()
        return (int(found[0]), bool(found[1])) if found else None

    def reserve_seqs(self, db: Executor, count: int) -> list[int]:
        return [int(row[0]) for row in db.rows(self.queries["reserve_seqs"], (count,))]

    def existing_versions(self, db: Executor, resource_type: str, ids: list[str]) -> dict[str, int]:
        found = db.rows(self.queries["existing_versions"], (resource_type, ids))
        return {id: int(version) for id, version in found}

    def read_current_many(self, db: Executor, resource_type: str, ids: list[str]) -> list[Row]:
        return db.rows(self.queries["read_current_many"], (resource_type, ids))

    def referencing_ids(
        self, db: Executor, resource_type: str, param: str, target_type: str, ids: list[str]
    ) -> list[str]:
        params = (cached_key(resource_type, param), target_type, ids)
        return [str(row[0]) for row in db.rows(self.queries["referencing_ids"], params)]

    def insert_version(self, db: Executor, row: VersionRow) -> int:
        return int(db.rows(self.queries["insert_version"], _history_params(row))[0][0])

    def insert_versions(
        self, db: Executor, rows: list[VersionRow], seqs: list[int], new_keys: set[tuple[str, str]]
    ) -> None:
        assert isinstance(db, PostgresExecutor)
        # COPY binary made here: psycopg's write_row was most of this writer's CPU, and in the
        # text format the server scanned each ~1.4 KB body byte by byte (copy_binary)
        db.copy_data(self.queries["copy_history"], history_stream(rows, seqs))
        last = {
            (row.resource_type, row.id): (row, seq) for row, seq in zip(rows, seqs, strict=True)
        }
        fresh = [(r, s) for key, (r, s) in last.items() if key in new_keys]
        known = [_current_params(r, s) for key, (r, s) in last.items() if key not in new_keys]
        db.copy_data(self.queries["copy_current"], current_stream(fresh))
        if known:
            db.run_many(self.queries["upsert_current"], known)

    def replace_index_rows(
        self, db: Executor, resource_type: str, id: str, rows: list[IndexRow]
    ) -> None:
        """One round trip clears the old rows of every table; the inserts are pipelined."""
        assert isinstance(db, PostgresExecutor)
        db.run(_CLEAR_ONE, (resource_type, id) * len(INDEX_COLUMNS))
        for table, values in rows_by_table([(resource_type, id, rows)]).items():
            if values:
                db.run_many(insert_statement(table, "%s"), values)

    def write_index_rows(
        self,
        db: Executor,
        entries: list[tuple[str, str, list[IndexRow]]],
        replaced: set[tuple[str, str]],
    ) -> None:
        """Bulk: clear the ``replaced`` keys' old rows, then COPY every table's new rows."""
        assert isinstance(db, PostgresExecutor)
        _clear(db, list(replaced))
        grouped = rows_by_table(entries)
        small = sum(map(len, grouped.values())) < _COPY_THRESHOLD
        for table, values in grouped.items():
            if values and small:  # a pipelined executemany beats a COPY per table here
                db.run_many(insert_statement(table, "%s"), values)
            elif values:
                db.copy_rows(copy_statement(table), values)

    def write_index_block(self, db: Executor, block: IndexBlock, replaced: list[Key]) -> None:
        assert isinstance(db, PostgresExecutor)
        _clear(db, replaced)
        for table, values in block.tables.items():
            if isinstance(values, bytes):
                db.copy_data(copy_statement(table), values)
            else:
                db.copy_rows(copy_statement(table), values)

    @contextmanager
    def bulk_load_lock(self) -> Iterator[bool]:
        """A session advisory lock (per schema) on a connection kept for the whole load; the
        server releases it when that connection ends."""
        with self.pool.connection() as connection:
            row = connection.execute(self.queries["bulk_load_lock"]).fetchone()
            got = bool(row and row[0])
            try:
                yield got
            finally:
                if got:
                    connection.execute(self.queries["bulk_load_unlock"])

    def refresh_statistics(self, force: bool = False) -> bool:
        """Only on request (after a bulk load): autovacuum re-analyzes tables as they change,
        but not at once, and a search right after a large COPY would be planned blind."""
        if not force:
            return False
        with self.pool.connection() as connection:
            tables = [str(name) for (name,) in connection.execute(self.queries["analyzed_tables"])]
        # One table per statement on as many connections as index builds, largest first:
        # 0.56-0.73 s -> 0.28-0.36 s after a 100k load (docs/benchmarks.md, "BUILD").
        with ThreadPoolExecutor(self.index_build_connections) as analyzers:
            list(analyzers.map(self._analyze, tables))
        return True

    def _analyze(self, table: str) -> None:
        with self.pool.connection() as connection:
            connection.execute(f"ANALYZE {table}")  # quote_ident'ed by the catalog query

    def use_batch_memory(self, cache_mib: int, mmap_mib: int) -> None:
        """Nothing to do: the server's buffers are its own configuration."""

    def close(self) -> None:
        self.pool.close()


def _clear(db: Executor, keys: list[Key]) -> None:
    if keys:
        types = [key[0] for key in keys]
        ids = [key[1] for key in keys]
        for table in INDEX_COLUMNS:
            db.run(
                f"DELETE FROM search_{table} s USING unnest(%s::text[], %s::text[]) AS k(t, i)"
                " WHERE s.resource_type = k.t AND s.id = k.i",
                (types, ids),
            )


def _history_params(row: VersionRow) -> tuple[object, ...]:
    return (
        row.resource_type,
        row.id,
        row.version,
        row.last_updated,
        row.deleted,
        row.method,
        row.compartment,
        row.body.decode(),
    )


def _current_params(row: VersionRow, seq: int) -> tuple[object, ...]:
    return (
        row.resource_type,
        row.id,
        row.version,
        seq,
        row.last_updated,
        row.deleted,
        row.compartment,
    )
