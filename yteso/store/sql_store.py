"""The :class:`~yteso.store.base.Store` over a SQL backend (SQLite or PostgreSQL).

One implementation for both databases: the backend runs SQL, :mod:`sql_dialect` renders
what differs. https://hl7.org/fhir/R4/http.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from yteso.fhir import json_codec
from yteso.fhir.types import Json
from yteso.store.base import SearchQuery, SearchResult, StoredVersion
from yteso.store.batch_writes import prepare_all, write_batch
from yteso.store.bulk_prepare import PreparedResource
from yteso.store.custom_params import sync
from yteso.store.index_blocks import BlockFormat, IndexBlock
from yteso.store.instants import now_utc
from yteso.store.match_records import (
    MATCHED_TYPE,
    NO_HOOKS,
    StoreHooks,
    clear_all,
    find_candidates,
    missing_ids,
    read_entries_after,
    read_entry,
    stale_ids,
    write_entries,
)
from yteso.store.search_sql import supported_search_params
from yteso.store.sql_backend import Backend
from yteso.store.sql_reads import (
    read_current,
    read_version,
    run_history,
    run_search,
    stored_from_row,
)
from yteso.store.sql_session import SqlSession

ITER_PAGE = 1000
# Every this many write transactions, check whether the planner's statistics fell behind.
STATS_CHECK_EVERY = 1000


class SqlStore:
    """A FHIR resource store on one database; safe to share between threads."""

    def __init__(self, url: str, backend: Backend, clock: Callable[[], datetime] = now_utc):
        self.url = url
        self.backend = backend
        self.dialect = backend.dialect.name
        self.clock = clock
        self.hooks: StoreHooks = NO_HOOKS  # set by the composition root (the MPI's hooks)
        self._writes = 0  # approximate (unlocked): it only paces the statistics check

    def sync_search_parameters(self) -> bool:
        """Pick up SearchParameters another process stored since this one last looked (one
        index-only query; :mod:`custom_params`). Runs before every search and write
        transaction, so a parameter registered anywhere is searched and indexed everywhere."""
        with self.backend.reading() as db:
            *signature, content_index = db.rows(self.backend.queries["custom_params_signature"])[0]
        self.backend.dialect.content_index = bool(content_index)
        return sync(self, self.url, tuple(signature))

    def set_content_index(self, enabled: bool) -> bool:
        """Turn the ``_content`` text index on or off for this database (the ``search_options``
        table of migration 0009; ``docs/dev/search.md``): the index is filled or emptied in the
        transaction that sets the option. Returns whether anything changed."""
        queries = self.backend.queries
        with self.backend.writing() as db:
            if bool(db.rows(queries["content_index_option"])[0][0]) == enabled:
                return False
            if enabled:
                db.run(queries["content_index_set"])
                db.run(queries["content_index_fill"])
            else:
                db.run(queries["content_index_empty"])
                db.run(queries["content_index_clear"])
        self.backend.dialect.content_index = enabled
        return True

    @contextmanager
    def session(self) -> Iterator[SqlSession]:
        """One atomic transaction: everything in it is committed together or not at all."""
        self.sync_search_parameters()
        with self.backend.writing() as db:
            yield SqlSession(self.backend, db, self.clock, self.hooks)
        self._written()

    def _written(self) -> None:
        self._writes += 1
        if self._writes % STATS_CHECK_EVERY == 0:
            self.refresh_statistics()

    def refresh_statistics(self, force: bool = False) -> bool:
        """Update the planner's statistics if the data outgrew them (always with ``force``):
        at open, after a bulk load, and every :data:`STATS_CHECK_EVERY` writes."""
        return self.backend.refresh_statistics(force)

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
        self.sync_search_parameters()
        with self.backend.reading() as db:
            return run_search(self.backend, db, resource_type, query, self.clock())

    def supported_search_params(self, resource_type: str | None) -> frozenset[str]:
        self.sync_search_parameters()
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
        self.sync_search_parameters()  # before extraction: rows for every stored parameter
        return self.write_prepared(prepare_all(resources, self.clock()))

    @property
    def index_block_format(self) -> BlockFormat:
        """How the bulk loader's workers should group index rows for this database."""
        return self.backend.index_block_format

    def write_prepared(
        self, prepared: Sequence[PreparedResource], blocks: Sequence[IndexBlock] | None = None
    ) -> int:
        """Write already validated resources in one transaction at bulk speed; ``blocks``:
        their index rows grouped by the bulk loader's workers (see ``index_blocks``)."""
        if not prepared:
            return 0
        self.sync_search_parameters()  # rows extracted by workers: see bulk_load's snapshot
        with self.backend.writing() as db:
            written = len(
                write_batch(
                    self.backend, db, prepared, match_entry=self.hooks.match_entry, blocks=blocks
                )
            )
        self._written()
        return written

    def match_candidates(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        """(id, features) of the Patients sharing a blocking key (see ``match_records``)."""
        with self.backend.reading() as db:
            return find_candidates(self.backend, db, keys)

    def match_features(self, id: str) -> str | None:
        with self.backend.reading() as db:
            return read_entry(self.backend, db, id)

    def iter_match_records(self) -> Iterator[tuple[str, str]]:
        """``(id, features)`` of every match record, in id order, a page at a time."""
        after = ""
        while True:
            with self.backend.reading() as db:
                page = read_entries_after(self.backend, db, after, ITER_PAGE)
            yield from page
            if len(page) < ITER_PAGE:
                return
            after = page[-1][0]

    def rebuild_match_records(self, full: bool = False) -> int:
        """Bring the match rows up to date with the current Patients; returns how many were
        written. A row records the Patient version it was derived from, so only Patients
        whose current version has none are derived again (written by a process without the
        MPI's hooks, or before rows kept their version), and rows of deleted or since
        rewritten Patients are dropped first. ``full``: derive every one again (after a change
        of the matching rules)."""
        entry_of = self.hooks.match_entry
        if entry_of is None:
            raise ValueError("the store has no match_entry hook")
        with self.backend.writing() as db:
            if full:
                clear_all(db)
            else:
                write_entries(self.backend, db, [], stale_ids(db))
            ids = missing_ids(db)  # in write order: the bodies are read about sequentially
        written = 0
        for start in range(0, len(ids), ITER_PAGE):
            chunk = ids[start : start + ITER_PAGE]
            # Read and written in one transaction, the rows replacing any a concurrent writer
            # wrote since: each row is derived from the version current when it is written.
            with self.backend.writing() as db:
                rows = self.backend.read_current_many(db, MATCHED_TYPE, chunk)
                entries = [
                    (id, version, entry_of(json_codec.loads(body)))
                    for id, version, _, body, _ in rows
                ]
                write_entries(self.backend, db, entries, chunk)
            written += sum(entry is not None for _, _, entry in entries)
        return written

    def close(self) -> None:
        self.backend.close()
