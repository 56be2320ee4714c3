"""The execution seam between the shared store logic and one database backend.

Rendering differences live in :mod:`yteso.store.sql_dialect`; this protocol is about *running*
SQL (connections, transactions, locks, bulk transfer), as splink separates ``DatabaseAPI``
from its dialects.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from yteso.store.index_blocks import BlockFormat, IndexBlock, Key
from yteso.store.index_rows import IndexRow
from yteso.store.sql_dialect import SqlDialect

Row = tuple[Any, ...]


class Executor(Protocol):
    """One open connection, inside or outside a transaction."""

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...

    def run(self, sql: str, params: Sequence[object] = ()) -> None: ...

    def run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...


class VersionRow(NamedTuple):
    """One version about to be written to the history and current-version tables. A
    NamedTuple, not a frozen dataclass: the bulk writer makes one per resource, and a frozen
    dataclass's ``__init__`` sets each of its eight fields through ``object.__setattr__``
    (~4x the cost; docs/benchmarks.md, "Session 12")."""

    resource_type: str
    id: str
    version: int
    last_updated: datetime
    deleted: bool
    method: str
    compartment: str | None
    body: bytes  # b"" for a delete marker


class Backend(Protocol):
    dialect: SqlDialect
    queries: dict[str, str]
    index_block_format: BlockFormat  # how bulk-load workers should prepare index rows
    index_build_connections: int  # deferred index builds at once (``deferred_indexes``)
    fork_workers: bool  # bulk-load workers may be forked from the writer (``bulk_load``)

    def reading(self) -> AbstractContextManager[Executor]:
        """A connection outside any explicit transaction (each statement sees committed data)."""
        ...

    def writing(self) -> AbstractContextManager[Executor]:
        """One write transaction: committed on normal exit, rolled back on an exception."""
        ...

    def index_build(self) -> AbstractContextManager[Executor]:
        """A write transaction set up for building indexes from scratch (sort memory, helper
        threads or workers); the connection's own settings come back afterwards."""
        ...

    def lock(self, db: Executor, key: str) -> None:
        """Serialise writers that use the same key until the transaction ends."""
        ...

    def lock_many(self, db: Executor, keys: Sequence[str]) -> None:
        """:meth:`lock` for every key, in the given order, in one round trip."""
        ...

    def locked_version(self, db: Executor, resource_type: str, id: str) -> tuple[int, bool] | None:
        """Lock ``Type/id`` for this transaction, then read its current (version, deleted)."""
        ...

    def reserve_seqs(self, db: Executor, count: int) -> list[int]: ...

    def existing_versions(
        self, db: Executor, resource_type: str, ids: list[str]
    ) -> dict[str, int]: ...

    def read_current_many(self, db: Executor, resource_type: str, ids: list[str]) -> list[Row]:
        """``id, version, last_updated, body, method`` of the current, not deleted, versions."""
        ...

    def referencing_ids(
        self, db: Executor, resource_type: str, param: str, target_type: str, ids: list[str]
    ) -> list[str]:
        """Ids of the ``resource_type`` resources whose reference ``param`` names any of
        ``target_type/ids`` (one indexed query: ``search_reference_lookup``)."""
        ...

    def insert_version(self, db: Executor, row: VersionRow) -> int:
        """Write one version to both tables; returns its sequence number."""
        ...

    def insert_versions(
        self, db: Executor, rows: list[VersionRow], seqs: list[int], new_keys: set[tuple[str, str]]
    ) -> None:
        """Write many versions at bulk speed; ``new_keys`` have no current row yet."""
        ...

    def replace_index_rows(
        self, db: Executor, resource_type: str, id: str, rows: list[IndexRow]
    ) -> None:
        """Replace a resource's search index rows (an empty list removes them)."""
        ...

    def write_index_rows(
        self,
        db: Executor,
        entries: list[tuple[str, str, list[IndexRow]]],
        replaced: set[tuple[str, str]],
    ) -> None:
        """Bulk form: insert every entry's rows; ``replaced`` keys first lose their old rows."""
        ...

    def write_index_block(self, db: Executor, block: IndexBlock, replaced: list[Key]) -> None:
        """Bulk load: insert a worker-grouped block of rows (``index_block_format``);
        ``replaced`` keys first lose their old rows."""
        ...

    def bulk_load_lock(self) -> AbstractContextManager[bool]:
        """Held by a bulk load for its whole run, without waiting: ``True`` when this caller
        got it (no other live load), ``False`` when another holder has it. Released when the
        holder's process dies, so a leftover of a dead load can be told from a live one."""
        ...

    def refresh_statistics(self, force: bool = False) -> bool:
        """Bring the query planner's statistics up to date when the data outgrew them (or
        always, with ``force``); returns whether it ran. Without statistics SQLite plans a
        selective search as a walk of every resource of the type."""
        ...

    def use_batch_memory(self, cache_mib: int, mmap_mib: int) -> None:
        """For a batch command's process: a page cache of ``cache_mib`` and up to ``mmap_mib``
        of the file memory-mapped, where the database runs in the process (SQLite)."""
        ...

    def close(self) -> None: ...
