"""Validating, stamping and indexing many versions in worker processes (a batch command's
writes: ``yteso mpi link`` writes hundreds of thousands of versions, and preparing them is
most of its write stage). The same :func:`prepare_resource` as a single write, so the
versions are the same; the caller writes them in its own transaction.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from types import TracebackType

from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.store.bulk_prepare import PreparedResource, collector_paused, prepare_resource
from yteso.store.custom_params import Snapshot, adopt, snapshot

#: ``(resource with its id, its lastUpdated, POST | PUT)``, as ``write_versions`` takes them.
Version = tuple[Json, datetime, str]
Outcome = PreparedResource | list[Issue]
#: What prepares a batch of versions (by default :func:`prepare_versions`).
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
    with collector_paused():
        return prepare_versions(versions)


class PreparePool:
    """``workers`` processes preparing versions while the caller goes on: :meth:`submit` hands
    them a part and returns at once (the part is pickled then, so later changes to the dicts
    cannot reach it). Used as a context manager (the processes end with it)."""

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

    def submit(self, versions: Sequence[Version]) -> Future[list[Outcome]]:
        """Prepare ``versions`` in a worker (in this process without workers)."""
        if self._pool is None:
            done: Future[list[Outcome]] = Future()
            done.set_result(prepare_versions(versions))
            return done
        payload = pickle.dumps(list(versions), protocol=pickle.HIGHEST_PROTOCOL)
        return self._pool.submit(_prepare_pickled, snapshot(), payload)


def _prepare_pickled(registry: Snapshot, payload: bytes) -> list[Outcome]:
    versions: list[Version] = pickle.loads(payload)  # noqa: S301 (this process's own data)
    return _prepare_part(registry, versions)


__all__ = ["Outcome", "Prepare", "PreparePool", "Version", "prepare_versions"]
