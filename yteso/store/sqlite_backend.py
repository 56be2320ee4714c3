"""SQLite backend: one file in WAL mode, many readers, one writer at a time.

Durability choice (https://www.sqlite.org/pragma.html#pragma_synchronous): WAL with
``synchronous=FULL`` syncs the WAL on every commit, so an acknowledged write survives power
loss as well as a killed process. ``NORMAL`` would survive ``SIGKILL`` but may lose the last
commits on power loss; the platform promises that nothing acknowledged is lost, and bulk loads
commit in large batches, so the fsync per commit costs little.

Writes begin with ``BEGIN IMMEDIATE``: the session holds the write lock from its first
statement, so read-then-write sequences (version checks, conditional creates) cannot race.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import orjson

from yteso.fhir.errors import Conflict
from yteso.store.index_blocks import BlockFormat, IndexBlock, Key
from yteso.store.index_rows import IndexRow
from yteso.store.index_tables import INDEX_COLUMNS, column_count, insert_statement, rows_by_table
from yteso.store.instants import format_instant
from yteso.store.param_keys import SQL_FUNCTION, cached_key, param_key
from yteso.store.sql_backend import Executor, Row, VersionRow
from yteso.store.sql_dialect import SqlDialect, SqliteDialect
from yteso.store.sql_files import load_queries
from yteso.store.sqlite_inserts import insert_flat, insert_keyed_groups, insert_rows
from yteso.store.sqlite_load_lock import load_lock

BUSY_TIMEOUT_SECONDS = 60.0
# ANALYZE reads at most this many rows per index (approximate statistics at any size:
# milliseconds on a multi-GB file), https://www.sqlite.org/lang_analyze.html#approx
ANALYSIS_LIMIT = 1000
# Statistics are refreshed once the history has grown past this multiple of the rows counted
# at the last ANALYZE (and by at least STATS_MIN_GROWTH rows).
STATS_GROWTH = 2
STATS_MIN_GROWTH = 1000
_POOL_LIMIT = 16
#: Page cache per connection (KiB), as ``PRAGMA cache_size`` takes it (negative: KiB).
CACHE_KIB = 65_536
# An index build's connection (restored after). A small cache makes the sorter write sorted
# runs of a few MB that helper threads sort and merge in parallel (a cache that holds all the
# keys sorts them on one thread); the table scans read the file through memory mapping
# (SQLite caps it at 2 GB by default). Measured in docs/benchmarks.md, "BUILD".
INDEX_BUILD_PRAGMAS = {"cache_size": -2000, "threads": 2, "mmap_size": 1 << 31}
# Page size of new database files (SQLite's default is 4 KiB; an existing file keeps its own).
# Every page a bulk load writes goes through the WAL and is copied again by the checkpoint:
# 8 KiB pages halve those writes' system calls and frame headers, and hold five ~1.4 KB
# resource bodies where 4 KiB pages held two (docs/benchmarks.md, "SQLWRITER").
# PostgreSQL's pages are 8 KiB too.
PAGE_SIZE = 8192
# Values of one history row (insert_history_with_seq).
_HISTORY_WIDTH = 9


def _identity(value: None) -> None:
    return value


# The driver binds str, int and float directly; any other value (None, bool, bytes: ~20 of a
# resource's ~130 bound values in a bulk load) first goes through its adaptation protocol,
# which looks up ``__adapt__`` on the protocol type and so formats and discards an
# AttributeError each time (~1,700 instructions per value, ~10 % of the SQLite writer's stream;
# docs/benchmarks.md, "sqlw2"). A registered adapter is found in the driver's registry first.
# Each returns what is bound today: None (NULL), the bool's int, the bytes themselves. The
# registry is the process's: these adapters change no value for any other user of sqlite3.
sqlite3.register_adapter(type(None), _identity)
sqlite3.register_adapter(bool, int)
sqlite3.register_adapter(bytes, bytes)


def _size_new_pages(connection: sqlite3.Connection) -> None:
    """Set :data:`PAGE_SIZE` on a file not written yet (it takes effect with the first write,
    the switch to WAL; processes racing to create the file all ask for the same size)."""
    if not connection.execute("PRAGMA page_count").fetchone()[0]:
        connection.execute(f"PRAGMA page_size={PAGE_SIZE}")


def _busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds what this one asked for."""
    return "locked" in str(exc) or "busy" in str(exc)


def _enable_wal(connection: sqlite3.Connection) -> None:
    """Switch a new file to WAL; the mode is persistent, so later connections only read it.

    The switch needs an exclusive lock, and SQLite may refuse it with SQLITE_BUSY without
    running the busy handler (when two fresh connections race on a new file), so we retry here
    for as long as the busy timeout allows.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                # When it cannot switch, SQLite returns the old mode instead of failing.
                (mode,) = connection.execute("PRAGMA journal_mode=WAL").fetchone()
            if str(mode).lower() == "wal":
                return
            problem = f"journal mode stayed {mode}"
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            problem = str(exc)
        if time.monotonic() > deadline:
            raise Conflict(f"the database stayed busy; retry ({problem})")
        time.sleep(0.01)


def _leave_wal(connection: sqlite3.Connection) -> bool:
    """Switch the database from WAL to a rollback journal for an index build; whether it did.

    In WAL mode each page of the new indexes (~200 MB per 100k resources) is written twice: to
    the WAL as the build's small cache spills, then into the database by the checkpoint. With a
    rollback journal SQLite journals only the pages that existed before the transaction (pages
    appended past the file's old end have nothing to restore), so the index pages are written
    once; the build stays one atomic, durable transaction (a killed build leaves a hot journal
    that the next connection rolls back, and ``deferred_index`` its records). Leaving WAL needs
    every other connection to the file closed: when one is open (a server, another process's
    reader), the build runs in WAL mode at once instead of waiting. docs/benchmarks.md,
    "Session 12".
    """
    (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() != "wal":
        return False  # ``:memory:``
    connection.execute("PRAGMA busy_timeout=0")
    try:
        (mode,) = connection.execute("PRAGMA journal_mode=DELETE").fetchone()
    except sqlite3.OperationalError as exc:
        if not _busy(exc):
            raise
        return False
    finally:
        connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    return str(mode).lower() == "delete"


def _statistics_stale(connection: sqlite3.Connection) -> bool:
    """Rows analyzed (``sqlite_stat1``'s estimate for the current-version table) against the
    history's last sequence number, an O(log n) upper bound on the rows written since."""
    written = int(
        connection.execute("SELECT coalesce(max(seq), 0) FROM resource_history").fetchone()[0]
    )
    try:
        found = connection.execute(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = 'resource_current' LIMIT 1"
        ).fetchone()
    except sqlite3.OperationalError:  # no sqlite_stat1 table: ANALYZE never ran
        found = None
    analyzed = int(str(found[0]).split()[0]) if found else 0
    if found is None:
        return bool(written)
    return written >= STATS_GROWTH * analyzed and written - analyzed >= STATS_MIN_GROWTH


class SqliteExecutor:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self.connection.execute(sql, params).fetchall()

    def run(self, sql: str, params: Sequence[object] = ()) -> None:
        self.connection.execute(sql, params)

    def run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self.connection.executemany(sql, rows)


class SqliteBackend:
    """Connections are pooled per store; ``:memory:`` shares one connection under a lock."""

    dialect: SqlDialect = SqliteDialect()
    index_block_format: BlockFormat = "groups"
    index_build_connections = 1  # one writer: the sorts use helper threads instead
    fork_workers = True  # forked children let go of the load lock (``sqlite_load_lock``)

    def __init__(self, path: str) -> None:
        self.path = path
        self.dialect = SqliteDialect()  # its own: it carries this database's options
        self.queries = load_queries("yteso.store.sqlite")
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # This process's writers queue here rather than in SQLite's busy handler, which polls
        # with sleeps of up to 100 ms: a server's next transaction then starts as soon as the
        # last commits instead of after the sleep (other processes still meet the busy handler).
        self._writer = threading.Lock()
        self._memory_lock: threading.RLock | None = None
        self._cache_kib, self._mmap_bytes = CACHE_KIB, 0
        if path == ":memory:":
            self._memory_lock = threading.RLock()
            self._idle.append(self._connect())

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        if self.path != ":memory:":
            _size_new_pages(connection)
            _enable_wal(connection)
        connection.execute("PRAGMA synchronous=FULL")
        # migration 0015 fills the parameter keys of rows written before it
        connection.create_function(SQL_FUNCTION, 2, param_key, deterministic=True)
        self._size_caches(connection)
        return connection

    def _size_caches(self, connection: sqlite3.Connection) -> None:
        connection.execute(f"PRAGMA cache_size=-{self._cache_kib}")
        connection.execute(f"PRAGMA mmap_size={self._mmap_bytes}")

    def use_batch_memory(self, cache_mib: int, mmap_mib: int) -> None:
        """A batch command's connections (``yteso mpi link``): a large page cache, and the file
        memory-mapped, so the random B-tree pages of a multi-GB file are read without a system
        call each. A server keeps the defaults: its many connections would each hold the cache."""
        self._cache_kib, self._mmap_bytes = cache_mib * 1024, mmap_mib * 1024 * 1024
        with self._lock:
            for connection in self._idle:
                self._size_caches(connection)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if self._memory_lock is not None:
            with self._memory_lock:
                yield self._idle[0]
            return
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        connection = connection or self._connect()
        try:
            yield connection
        finally:
            with self._lock:
                if len(self._idle) < _POOL_LIMIT and not connection.in_transaction:
                    self._idle.append(connection)
                    connection = None
            if connection is not None:
                connection.close()

    @contextmanager
    def reading(self) -> Iterator[Executor]:
        with self._connection() as connection:
            yield SqliteExecutor(connection)

    @contextmanager
    def writing(self) -> Iterator[Executor]:
        if not self._writer.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise Conflict("the database stayed busy; retry (another writer of this process)")
        try:
            with self._connection() as connection, _transaction(connection) as db:
                yield db
        finally:
            self._writer.release()

    @contextmanager
    def index_build(self) -> Iterator[Executor]:
        with self._connection() as connection:
            if self._memory_lock is None:  # ``:memory:``'s one connection is the caller's
                self._close_idle()  # an open connection keeps the file in WAL mode
            rollback = _leave_wal(connection)
            try:
                with self._build_pragmas(connection) as db:
                    yield db
            finally:
                if rollback:
                    _enable_wal(connection)

    def _close_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    @staticmethod
    @contextmanager
    def _build_pragmas(connection: sqlite3.Connection) -> Iterator[Executor]:
        kept: dict[str, int] = {}
        for pragma in INDEX_BUILD_PRAGMAS:  # ``:memory:`` has no mmap_size
            found = connection.execute(f"PRAGMA {pragma}").fetchone()
            if found is not None:
                kept[pragma] = int(found[0])
        try:
            for pragma in kept:
                connection.execute(f"PRAGMA {pragma}={INDEX_BUILD_PRAGMAS[pragma]}")
            with _transaction(connection) as db:
                yield db
        finally:  # the connection goes back to the pool
            for pragma, value in kept.items():
                connection.execute(f"PRAGMA {pragma}={value}")

    def lock(self, db: Executor, key: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already holds the database write lock."""

    def lock_many(self, db: Executor, keys: Sequence[str]) -> None:
        """Nothing to do, as :meth:`lock`."""

    def locked_version(self, db: Executor, resource_type: str, id: str) -> tuple[int, bool] | None:
        found = db.rows(self.queries["current_version"], (resource_type, id))
        return (int(found[0][0]), bool(found[0][1])) if found else None

    def reserve_seqs(self, db: Executor, count: int) -> list[int]:
        # Safe without a sequence object: this transaction holds the only write lock.
        start = int(db.rows(self.queries["max_seq"])[0][0]) + 1
        return list(range(start, start + count))

    def existing_versions(self, db: Executor, resource_type: str, ids: list[str]) -> dict[str, int]:
        found = db.rows(
            self.queries["existing_versions"], (resource_type, orjson.dumps(ids).decode())
        )
        return {id: int(version) for id, version in found}

    def read_current_many(self, db: Executor, resource_type: str, ids: list[str]) -> list[Row]:
        return db.rows(
            self.queries["read_current_many"], (resource_type, orjson.dumps(ids).decode())
        )

    def referencing_ids(
        self, db: Executor, resource_type: str, param: str, target_type: str, ids: list[str]
    ) -> list[str]:
        params = (cached_key(resource_type, param), target_type, orjson.dumps(ids).decode())
        return [str(row[0]) for row in db.rows(self.queries["referencing_ids"], params)]

    def insert_version(self, db: Executor, row: VersionRow) -> int:
        seq = int(db.rows(self.queries["insert_history"], _history_params(row))[0][0])
        db.run(self.queries["upsert_current"], _current_params(row, seq))
        return seq

    def insert_versions(
        self, db: Executor, rows: list[VersionRow], seqs: list[int], new_keys: set[tuple[str, str]]
    ) -> None:
        """The history rows, then their current rows copied from them inside SQLite (the seqs
        are consecutive: ``reserve_seqs``): no tuple per row and no second binding of the
        same values (docs/benchmarks.md, "Session 12")."""
        del new_keys  # the upsert handles new and existing rows alike, at the same speed
        if not rows:
            return
        if seqs[-1] - seqs[0] != len(seqs) - 1:  # the copy below takes a range of seqs
            raise ValueError("insert_versions needs consecutive seqs")
        values: list[object] = []
        add = values.extend
        for seq, row in zip(seqs, rows, strict=True):
            add((seq,))
            add(_history_params(row))
        insert_flat(db, self.queries["insert_history_with_seq"], _HISTORY_WIDTH, values)
        db.run(self.queries["upsert_current_from_history"], (seqs[0], seqs[-1]))

    def replace_index_rows(
        self, db: Executor, resource_type: str, id: str, rows: list[IndexRow]
    ) -> None:
        self.write_index_rows(db, [(resource_type, id, rows)], {(resource_type, id)})

    def write_index_rows(
        self,
        db: Executor,
        entries: list[tuple[str, str, list[IndexRow]]],
        replaced: set[tuple[str, str]],
    ) -> None:
        """Insert the entries' rows after clearing the old rows of the ``replaced`` keys."""
        _clear(db, list(replaced))
        for table, values in rows_by_table(entries).items():
            if values:
                insert_rows(db, insert_statement(table, "?"), values)

    def write_index_block(self, db: Executor, block: IndexBlock, replaced: list[Key]) -> None:
        _clear(db, replaced)
        for table, values in block.tables.items():
            if not isinstance(values, list):
                raise TypeError("SQLite takes index blocks of rows or value groups")
            sql = insert_statement(table, "?")
            if values and isinstance(values[0], list):  # the ``groups`` format
                insert_keyed_groups(db, sql, column_count(table), values)
            else:
                insert_rows(db, sql, values)

    @contextmanager
    def bulk_load_lock(self) -> Iterator[bool]:
        """An exclusive ``flock`` on a file beside the database (``sqlite_load_lock``)."""
        if self.path == ":memory:":
            yield True
            return
        with load_lock(f"{self.path}-load.lock") as alone:
            yield alone

    def refresh_statistics(self, force: bool = False) -> bool:
        with self._connection() as connection:
            if not force and not _statistics_stale(connection):
                return False
            connection.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            connection.execute("ANALYZE")
            return True

    def close(self) -> None:
        self._close_idle()


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[Executor]:
    if connection.in_transaction:  # a nested session on the shared :memory: connection
        raise RuntimeError("sessions do not nest")
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:  # still locked after the busy timeout
        raise Conflict(f"the database stayed busy; retry ({exc})") from exc
    try:
        yield SqliteExecutor(connection)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _clear(db: Executor, keys: list[Key]) -> None:
    if keys:
        ordered = sorted(keys)  # in the index's order: neighbouring keys share their pages
        for table in INDEX_COLUMNS:
            db.run_many(f"DELETE FROM search_{table} WHERE resource_type = ? AND id = ?", ordered)


def _history_params(row: VersionRow) -> tuple[object, ...]:
    """The body stays bytes: the statements store it with ``CAST(? AS TEXT)`` (queries.sql);
    ``format_instant`` caches the few instants a batch shares."""
    return (
        row.resource_type,
        row.id,
        row.version,
        format_instant(row.last_updated),
        row.deleted,
        row.method,
        row.compartment,
        row.body,
    )


def _current_params(row: VersionRow, seq: int) -> tuple[object, ...]:
    return (
        row.resource_type,
        row.id,
        row.version,
        seq,
        format_instant(row.last_updated),
        row.deleted,
        row.compartment,
    )
