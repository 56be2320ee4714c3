"""Bulk load of NDJSON and Bundle files: parallel preparation, one batching writer.

Validation and indexing are CPU-bound, so worker processes parse, validate and stamp chunks
of the input while the calling process writes prepared rows in large batches (COPY on
PostgreSQL, ``executemany`` in one transaction per batch on SQLite). Invalid resources are
reported with their file and line (or Bundle entry) and not stored; the rest load.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.context import BaseContext
from pathlib import Path

from yteso.fhir.errors import Issue
from yteso.store.base import Store
from yteso.store.bulk_prepare import (
    NOT_AN_OBJECT,
    PreparedFields,
    PreparedResource,
    collector_paused,
    prepare_ndjson,
    prepare_resource,
)
from yteso.store.bundle_entries import SourcedResource, json_file_resources
from yteso.store.custom_params import Snapshot, adopt, snapshot
from yteso.store.deferred_indexes import (
    defer_bulk_indexes,
    rebuild_deferred_indexes,
    store_is_empty,
)
from yteso.store.index_blocks import BlockFormat, IndexBlock, index_block
from yteso.store.instants import now_utc
from yteso.store.orphan_guard import exit_with_parent
from yteso.store.sql_backend import Backend

ProgressCallback = Callable[[int, int | None], None]
_WritePrepared = Callable[[list[PreparedResource], list[IndexBlock]], int]

CHUNK_BYTES = 1 << 20  # about 700 resources of 1.4 KB per task
BATCH_SIZE = 5000
# Tasks queued per worker: enough that workers stay busy while the writer commits a batch.
IN_FLIGHT_PER_WORKER = 8
INLINE_BELOW_BYTES = 4 << 20  # smaller inputs: starting worker processes costs more than it saves
FILE_SUFFIXES = (".ndjson", ".json", ".jsonl")
# Collector thresholds while loading. A chunk of parsed resources and their index rows is
# hundreds of thousands of container objects that are freed by reference counting, never by
# the collector; at the default 700 allocations per young collection the collector kept
# re-scanning them (preparation 300 -> 253 µs per resource in a worker, same run).
LOAD_GC_THRESHOLD = (50_000, 20, 100)
# Loads of at least this many NDJSON lines into an empty store build the secondary indexes at
# the end (``deferred_indexes``); smaller ones gain little and keep the indexes live.
DEFER_INDEXES_FROM = 10_000


@dataclass(frozen=True)
class LoadFailure:
    file: str
    line: int | None
    entry: int | None
    issues: tuple[Issue, ...]

    def __str__(self) -> str:
        where = self.file
        where += f":{self.line}" if self.line is not None else ""
        where += f" entry[{self.entry}]" if self.entry is not None else ""
        problems = "; ".join(
            f"{issue.diagnostics}"
            + (f" ({', '.join(issue.expression)})" if issue.expression else "")
            for issue in self.issues
            if issue.severity in ("error", "fatal")
        )
        return f"{where}: {problems}"


@dataclass
class LoadReport:
    loaded: int = 0
    failures: list[LoadFailure] = field(default_factory=list)
    seconds: float = 0.0
    by_type: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        """How many resources were rejected."""
        return len(self.failures)

    @property
    def rate(self) -> float:
        """Resources stored per second."""
        return self.loaded / self.seconds if self.seconds else 0.0

    def record(self, batch: list[PreparedResource], written: int) -> None:
        self.loaded += written
        self.by_type.update(item.resource_type for item in batch)

    def summary(self) -> str:
        return (
            f"Loaded {self.loaded:,} resources in {self.seconds:.1f} s ({self.rate:,.0f}/s);"
            f" {len(self.failures):,} rejected"
        )


@dataclass(frozen=True)
class _Task:
    file: str
    first_line: int | None  # NDJSON: the line ``content`` starts at; None: a whole JSON file
    content: bytes
    # the writer's custom SearchParameters when the chunk was cut (workers adopt them)
    registry: Snapshot = (None, ())
    index_format: BlockFormat = "rows"  # how the writer's database wants the index rows


# The resources (``bulk_prepare.PreparedFields``: the writer rebuilds each PreparedResource in
# C), the rejected ones, and the chunk's index rows grouped for the writer.
_Prepared = tuple[list[PreparedFields], list[LoadFailure], IndexBlock]


def input_files(paths: Sequence[Path | str]) -> list[Path]:
    """The files to load: the paths given, with folders expanded to their data files."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in FILE_SUFFIXES))
        else:
            files.append(path)
    return files


def _tasks(files: list[Path], index_format: BlockFormat = "rows") -> Iterator[_Task]:
    """Whole JSON files, and NDJSON cut into blocks of whole lines (workers split the lines;
    the main process only counts newlines, so it stays free to write)."""
    for path in files:
        if path.suffix == ".json":
            yield _Task(str(path), None, path.read_bytes(), snapshot(), index_format)
            continue
        with path.open("rb") as handle:
            line = 1
            carry = b""
            while block := handle.read(CHUNK_BYTES):
                block = carry + block
                cut = block.rfind(b"\n") + 1
                if cut == 0:
                    carry = block
                    continue
                carry = block[cut:]
                yield _Task(str(path), line, block[:cut], snapshot(), index_format)
                line += block.count(b"\n", 0, cut)
            if carry.strip():
                yield _Task(str(path), line, carry, snapshot(), index_format)


def _estimate_total(files: list[Path]) -> int | None:
    """The number of NDJSON lines; unknown (``None``) when Bundles are among the files."""
    total = 0
    for path in files:
        if path.suffix == ".json":
            return None
        with path.open("rb") as handle:
            total += sum(
                block.count(b"\n") for block in iter(lambda: handle.read(CHUNK_BYTES), b"")
            )
    return total


def prepare_task(task: _Task) -> _Prepared:
    """Worker side: parse, validate, stamp and index one chunk (module-level so it pickles);
    the index rows leave grouped per table, the writer's work done here (``index_blocks``)."""
    with collector_paused():
        return _prepare_chunk(task)


def _prepare_chunk(task: _Task) -> _Prepared:
    adopt(task.registry)
    now = now_utc()
    if task.first_line is not None:  # NDJSON: the per-line loop is compiled (bulk_prepare)
        fields, rejected, entries = prepare_ndjson(task.content.split(b"\n"), task.first_line, now)
        failures = [LoadFailure(task.file, line, None, tuple(found)) for line, found in rejected]
        return fields, failures, index_block(entries, task.index_format)
    prepared: list[PreparedResource] = []
    failures = []
    for item in json_file_resources(task.content):
        outcome = _prepare_one(item, now)
        if isinstance(outcome, PreparedResource):
            prepared.append(outcome)
        else:
            failures.append(LoadFailure(task.file, item.line, item.entry, tuple(outcome)))
    block = index_block(
        ((item.resource_type, item.id, item.index_rows) for item in prepared), task.index_format
    )
    return [(*item[:6], []) for item in prepared], failures, block


def _prepare_one(item: SourcedResource, now: datetime) -> PreparedResource | list[Issue]:
    if item.problem is not None:
        return [item.problem]
    if not isinstance(item.resource, dict):
        return [NOT_AN_OBJECT]
    return prepare_resource(item.resource, now, id=item.id)


def _prepared_stream(
    tasks: Iterator[_Task], workers: int, fork: bool = False
) -> Iterator[_Prepared | None]:
    """Prepared chunks in input order, at most a few chunks per worker in flight.
    ``fork``: the caller's database allows forked workers (:func:`_worker_context`).
    ``None``: every task is out and the next chunk is not ready yet, so the writer may write
    what it holds instead of waiting (the last chunks' preparation then hides all but the last
    small write; otherwise a last batch of up to ``BATCH_SIZE`` is written with the workers
    done: ~0.4 s of one idle core per load, docs/benchmarks.md "Session 13").

    A ``ProcessPoolExecutor``, not a ``multiprocessing.Pool``: the pool's worker-handler
    thread also waits on the result pipe, so from the moment a worker starts sending a ~2 MB
    chunk until the result thread has read all of it, that thread woke in a loop (~0.5 s of
    the writer's CPU per 100k resources, on the cores the workers need; docs/benchmarks.md,
    "Session 9"). The executor's one thread reads each result as it arrives."""
    if workers <= 1:
        yield from map(prepare_task, tasks)
        return
    pool = ProcessPoolExecutor(
        workers,
        mp_context=_worker_context(fork),
        initializer=_worker_setup,
        initargs=(os.getpid(),),
    )
    try:
        pending: deque[Future[_Prepared]] = deque()
        for task in tasks:
            pending.append(pool.submit(prepare_task, task))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            if not pending[0].done():
                yield None
            yield pending.popleft().result()
    finally:  # on an early exit, chunks not yet started are dropped
        pool.shutdown(cancel_futures=True)


def _worker_context(fork: bool) -> BaseContext:
    """``fork`` where the database allows it and this process runs no other thread, else
    ``spawn``. A spawned worker starts a fresh interpreter and imports the loader; a forked one
    has the writer's modules already (two workers: ~0.7 s less CPU, first results ~1.1 s
    sooner; docs/benchmarks.md, "Session 10"). Forking a process with other threads can leave
    a lock held forever in the child (a thread of the PostgreSQL connection pool, a progress
    bar's refresher), so those processes spawn. The backend decides the rest: a forked child
    inherits every open file, which SQLite's backend handles for its load lock
    (``sqlite_load_lock``), PostgreSQL's would not (its lock is a server session that an
    orphaned worker would keep open)."""
    # Linux only: macOS offers fork too, but its system libraries are not safe across it.
    usable = fork and sys.platform.startswith("linux")
    alone = threading.active_count() == 1
    return multiprocessing.get_context("fork" if usable and alone else "spawn")


def _worker_setup(loader: int) -> None:
    exit_with_parent(loader)  # a killed loader's workers would otherwise sleep on forever
    gc.enable()  # a forked worker inherits the writer's paused collector
    gc.freeze()  # the imported modules: never garbage, no need to scan them again
    gc.set_threshold(*LOAD_GC_THRESHOLD)


def _default_workers(files: list[Path]) -> int:
    small = sum(path.stat().st_size for path in files) < INLINE_BELOW_BYTES
    return 1 if small else max(1, os.cpu_count() or 1)


def load_paths(
    store: Store,
    paths: Sequence[Path | str],
    progress: ProgressCallback | None = None,
    *,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    defer_indexes: bool | None = None,
) -> LoadReport:
    """Load NDJSON files, Bundle JSON files or folders of them into ``store``.

    ``progress(done, total)`` is called after every written batch (``total`` is ``None`` when
    it is not known in advance). ``workers``: preparation processes (default: one per CPU, or
    none for small inputs). ``defer_indexes``: drop the secondary indexes
    (``deferred_indexes``) and build them after the last batch (default: when the store is
    empty and the input has at least ``DEFER_INDEXES_FROM`` NDJSON lines; never while another
    load runs)."""
    write_prepared: _WritePrepared | None = getattr(store, "write_prepared", None)
    if write_prepared is None:
        raise TypeError("bulk load needs a store with write_prepared (open_store gives one)")
    started = time.perf_counter()
    sync_search_parameters = getattr(store, "sync_search_parameters", None)
    if sync_search_parameters is not None:
        sync_search_parameters()  # the chunks carry this registry to the workers
    files = input_files(paths)
    total = _estimate_total(files)
    backend: Backend | None = getattr(store, "backend", None)
    if backend is None:
        report = _load(write_prepared, "rows", files, total, progress, workers, batch_size)
    else:
        fork = backend.fork_workers
        with backend.bulk_load_lock() as alone:
            if defer_indexes is None:
                big = total is not None and total >= DEFER_INDEXES_FROM
                defer_indexes = big and store_is_empty(backend)
            deferred = alone and defer_indexes and defer_bulk_indexes(backend) > 0
            try:
                index_format = backend.index_block_format
                report = _load(
                    write_prepared, index_format, files, total, progress, workers, batch_size, fork
                )
            finally:
                if deferred:  # the build is part of the load, and of its time
                    rebuild_deferred_indexes(backend)
    refresh = getattr(store, "refresh_statistics", None)
    if refresh is not None and report.loaded:
        refresh(force=True)  # searches right after the load are planned on its data (and indexes)
    if progress is not None:  # last: after the index build and the statistics
        progress(report.loaded + report.failed, report.loaded + report.failed)
    report.seconds = time.perf_counter() - started
    return report


def _load(
    write_prepared: _WritePrepared,
    index_format: BlockFormat,
    files: list[Path],
    total: int | None,
    progress: ProgressCallback | None,
    workers: int | None,
    batch_size: int,
    fork: bool = False,
) -> LoadReport:
    report = LoadReport()
    done = 0
    batch: list[PreparedResource] = []
    blocks: list[IndexBlock] = []
    workers = workers or _default_workers(files)
    stream = _prepared_stream(_tasks(files, index_format), workers, fork)
    # The writer's unpickled batches are freed by reference counting, like the workers' parts,
    # yet young collections kept scanning them: the collector is off while it writes.
    with collector_paused():
        for item in stream:
            if item is None:  # the tail of the input: write while the last chunks are prepared
                if batch:
                    report.record(batch, write_prepared(batch, blocks))
                    batch, blocks = [], []
                    if progress is not None:
                        progress(done, total)
                continue
            prepared, failures, block = item
            batch.extend([tuple.__new__(PreparedResource, fields) for fields in prepared])
            blocks.append(block)
            report.failures.extend(failures)
            done += len(prepared) + len(failures)
            if len(batch) >= batch_size:
                report.record(batch, write_prepared(batch, blocks))
                batch, blocks = [], []
                if progress is not None:
                    progress(done, total)
        report.record(batch, write_prepared(batch, blocks))
    return report
