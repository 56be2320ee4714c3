"""``yteso mpi link``: the whole population from the store through the batch linker (Splink on
DuckDB, or Spark for a national run), its links and review pairs written like the real-time
path's (golden Person, managed ``Patient.link``, pair Tasks; not-a-match decisions respected).
"""

from __future__ import annotations

import gc
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from yteso.fhir.errors import Conflict
from yteso.modules.mpi.pair_batch import PairBatch
from yteso.modules.mpi.registry import MpiRegistry, internal
from yteso.mpi import LinkSettings, ScoredPair, link_population
from yteso.mpi.decisions import Candidate, Grade, grade_of
from yteso.mpi.stored_matching import features_from_text
from yteso.store.base import Store
from yteso.store.parallel_prepare import PreparePool

#: ``progress(stage, done, total)``: the batch linker's stages, then ``write``.
Progress = Callable[[str, int, int | None], None]
#: Pairs per write transaction: a few seconds each, so the server's writers wait no longer.
PAIRS_PER_TRANSACTION = 2000
#: Worker processes preparing versions: one per core, up to this many (the main process's
#: decisions and batch inserts bound the stage; each worker holds its own imports, ~130 MB).
MAX_WORKERS = 4
#: A transaction that lost a deadlock to a concurrent writer (PostgreSQL) is tried again.
ATTEMPTS = 3


@dataclass(frozen=True)
class BatchReport:
    records: int
    links: int
    reviews: int
    seconds: dict[str, float]


def link_store(
    store: Store,
    registry: MpiRegistry,
    settings: LinkSettings | None = None,
    progress: Progress | None = None,
) -> BatchReport:
    settings = settings or LinkSettings(thresholds=registry.matcher.thresholds)
    report = progress or (lambda stage, done, total: None)
    # The match records hold every matched Patient's features (written with the Patient, or
    # by ``rebuild_match_records``): parsing them is a fraction of parsing the Patients.
    features = (features_from_text(text) for _, text in store.iter_match_records())
    result = link_population(features, settings, report)
    # What the linker left (a million ids in its clusters, the pairs) is never garbage while
    # the pairs are written: frozen, full collections stop scanning it again and again.
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    try:
        with PreparePool(min(os.cpu_count() or 1, MAX_WORKERS)) as pool:
            pairs = [*result.links, *result.reviews]
            write_pairs(store, registry, pairs, report, pool=pool)
    finally:
        gc.unfreeze()
    seconds = {**result.seconds, "write": time.perf_counter() - started}
    return BatchReport(result.records, len(result.links), len(result.reviews), seconds)


def write_pairs(
    store: Store,
    registry: MpiRegistry,
    pairs: Sequence[ScoredPair],
    progress: Progress | None = None,
    *,
    batched: bool = True,
    per_transaction: int = PAIRS_PER_TRANSACTION,
    pool: PreparePool | None = None,
) -> None:
    """Each pair through ``MpiRegistry.consider``, in order, ``per_transaction`` pairs a
    transaction: in a :class:`PairBatch` (bulk reads, one batch insert), or with
    ``batched=False`` straight on the store session (a statement per read and write; the
    reference the batched path is tested against). ``pool``: worker processes that validate and
    index the batched path's versions while its pairs are considered."""
    report = progress or (lambda stage, done, total: None)
    report("write", 0, len(pairs))
    for start in range(0, len(pairs), per_transaction):
        chunk = pairs[start : start + per_transaction]
        for attempt in range(1, ATTEMPTS + 1):
            try:
                _write_chunk(store, registry, chunk, batched, pool)
                break
            except Conflict:
                if attempt == ATTEMPTS:
                    raise
        report("write", start + len(chunk), len(pairs))


def _write_chunk(
    store: Store,
    registry: MpiRegistry,
    pairs: Sequence[ScoredPair],
    batched: bool,
    pool: PreparePool | None,
) -> None:
    with store.session() as session, internal():
        batch = PairBatch(session, pool) if batched else None
        if batch is not None:
            batch.prefetch(pairs)
        for pair in pairs:
            registry.consider(batch or session, pair.left, _candidate(pair, registry), {})
        if batch is not None:
            batch.flush()


def _candidate(pair: ScoredPair, registry: MpiRegistry) -> Candidate:
    """A batch pair as the real-time path scores it (a review pair the batch held back because
    it would join two CCCDs is held back again by ``join``, and queued)."""
    if pair.rule == "cccd":
        return Candidate(pair.right, 1.0, float("inf"), Grade.CERTAIN, "cccd")
    grade = grade_of(pair.probability, registry.matcher.thresholds)
    probability = min(max(pair.probability, 1e-12), 1 - 1e-12)
    weight = math.log2(probability / (1 - probability))
    return Candidate(pair.right, pair.probability, weight, grade, "model")


__all__ = ["BatchReport", "link_store", "write_pairs"]
