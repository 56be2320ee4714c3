"""Validating, stamping and indexing many versions in worker processes (a batch command's
writes: ``yteso mpi link`` writes hundreds of thousands of versions, and preparing them is
most of its write stage). The same :func:`prepare_resource` as a single write, so the
versions are the same; the caller writes them in its own transaction.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from types import TracebackType

from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.store.bulk_prepare import PreparedResource, prepare_resource
from yteso.store.custom_params import Snapshot, adopt, snapshot

#: ``(resource with its id, its lastUpdated, POST | PUT)``, as ``write_versions`` takes them.
Version = tuple[Json, datetime, str]
Outcome = PreparedResource | list[Issue]
#: What prepares a batch of versions: :func:`prepare_versions` or :meth:`PreparePool.prepare`.
Prepare = Callable[[Sequence[Version]], list[Outcome]]


def prepare_versions(versions: Sequence[Version]) -> list[Outcome]:
    """Each version prepared (its method kept), or the issues that reject it."""
    outcomes: list[Outcome] = []
    for resource, moment, method in versions:
        outcome = prepare_resource(resource, moment)
        outcomes.append(outcome if isinstance(outcome, list) else outcome._replace(method=method))
    return outcomes


def _prepare_part(registry: Snapshot, versions: Sequence[Version]) -> list[Outcome]:
    """Worker side (module level, so it pickles), with the writer's custom SearchParameters.
    Without the collector: what a part allocates is freed by reference counting."""
    adopt(registry)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return prepare_versions(versions)
    finally:
        if enabled:
            gc.enable()


class PreparePool:
    """``workers`` processes plus the caller: a batch is cut in ``workers + 1`` parts, the
    caller prepares the last while the workers prepare the others. Used as a context manager
    (the processes end with it)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(workers, mp_context=context)

    def __enter__(self) -> PreparePool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def prepare(self, versions: Sequence[Version]) -> list[Outcome]:
        """The outcomes of ``versions``, in their order."""
        if self._pool is None or len(versions) < 2 * (self.workers + 1):
            return prepare_versions(versions)
        size = -(-len(versions) // (self.workers + 1))
        parts = [versions[start : start + size] for start in range(0, len(versions), size)]
        registry = snapshot()
        futures: list[Future[list[Outcome]]] = [
            self._pool.submit(_prepare_part, registry, part) for part in parts[:-1]
        ]
        last = prepare_versions(parts[-1])
        outcomes: list[Outcome] = []
        for future in futures:
            outcomes.extend(future.result())
        return outcomes + last


__all__ = ["Outcome", "Prepare", "PreparePool", "Version", "prepare_versions"]
