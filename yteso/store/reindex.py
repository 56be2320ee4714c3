"""Rebuild every current resource's search index rows (``yteso reindex``).

Needed after a database gains the index tables (migration 0003 on a store that already held
resources) or after the indexing rules change. Works a page of 1,000 resources at a time in
write order, one transaction per page, so it can run while the server serves requests.
:class:`BackgroundReindex` runs it in a thread: the server starts one when a SearchParameter
is written, and ``$reindex`` reports its progress.
https://hl7.org/fhir/R4/searchparameter.html
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from weakref import WeakKeyDictionary

from yteso.store.custom_params import load_custom_parameters
from yteso.store.index_rows import IndexRow, extract_index_rows
from yteso.store.instants import now_utc
from yteso.store.sql_store import SqlStore

PAGE = 1000


def reindex(store: SqlStore, progress: Callable[[int], None] | None = None) -> int:
    """Register the store's custom SearchParameters, then re-extract and replace the index rows
    of every current resource; returns how many."""
    load_custom_parameters(store)
    done = 0
    page: list[tuple[str, str, list[IndexRow]]] = []
    for stored in store.iter_current():
        page.append((stored.resource_type, stored.id, extract_index_rows(stored.resource())))
        if len(page) == PAGE:
            done += _write(store, page)
            page = []
            if progress is not None:
                progress(done)
    done += _write(store, page)
    if progress is not None:
        progress(done)
    return done


def _write(store: SqlStore, page: list[tuple[str, str, list[IndexRow]]]) -> int:
    if page:
        with store.backend.writing() as db:
            store.backend.write_index_rows(db, page, {(t, i) for t, i, _ in page})
    return len(page)


@dataclass
class ReindexStatus:
    """What a background reindex is doing (``$reindex``): state is idle, running, done or
    failed; ``done`` counts resources re-indexed by the current (or last) run."""

    state: str = "idle"
    done: int = 0
    total: int | None = None
    started: datetime | None = None
    finished: datetime | None = None
    runs: int = 0
    error: str | None = None


class BackgroundReindex:
    """One reindex at a time per store, in a daemon thread. A request while one runs queues
    exactly one more run (the new SearchParameter may have come after the running one read
    the registry)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._status = ReindexStatus()
        self._again = False

    def status(self) -> ReindexStatus:
        with self._lock:
            return replace(self._status)

    def start(self) -> ReindexStatus:
        with self._lock:
            if self._status.state == "running":
                self._again = True
                return replace(self._status)
            self._begin()
            return replace(self._status)

    def wait(self, timeout: float = 60.0) -> ReindexStatus:
        """Block until no run is active or queued (tests, the CLI)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._status.state != "running":
                    return replace(self._status)
            time.sleep(0.02)
        return self.status()

    def _begin(self) -> None:
        total = sum(self.store.counts().values())
        self._status = ReindexStatus("running", 0, total, now_utc(), None, self._status.runs + 1)
        threading.Thread(target=self._run, name="yteso-reindex", daemon=True).start()

    def _run(self) -> None:
        try:
            reindex(self.store, progress=self._progress)
        except Exception as exc:  # the thread must report, not die silently
            with self._lock:
                self._status.state, self._status.error = "failed", f"{type(exc).__name__}: {exc}"
                self._status.finished = now_utc()
            return
        with self._lock:
            self._status.state, self._status.finished = "done", now_utc()
            if self._again:
                self._again = False
                self._begin()

    def _progress(self, done: int) -> None:
        with self._lock:
            self._status.done = done


_JOBS: WeakKeyDictionary[SqlStore, BackgroundReindex] = WeakKeyDictionary()
_JOBS_LOCK = threading.Lock()


def background_reindex(store: SqlStore) -> BackgroundReindex:
    """The store's background reindex job (one per store object in this process)."""
    with _JOBS_LOCK:
        job = _JOBS.get(store)
        if job is None:
            job = _JOBS[store] = BackgroundReindex(store)
        return job
