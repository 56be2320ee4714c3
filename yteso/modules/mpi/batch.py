"""``yteso mpi link``: the whole population from the store through the batch linker (Splink on
DuckDB, or Spark for a national run), its links and review pairs written like the real-time
path's (golden Person, managed ``Patient.link``, pair Tasks; not-a-match decisions respected).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from yteso.modules.mpi.registry import MpiRegistry, internal
from yteso.mpi import LinkSettings, ScoredPair, link_population, patient_features
from yteso.mpi.decisions import Candidate, Grade, grade_of
from yteso.mpi.stored_matching import match_entry
from yteso.store.base import Store

#: ``progress(stage, done, total)``: the batch linker's stages, then ``write``.
Progress = Callable[[str, int, int | None], None]
PAIRS_PER_TRANSACTION = 200


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
    features = (
        patient_features(patient)
        for stored in store.iter_current("Patient")
        if match_entry(patient := stored.resource()) is not None
    )
    result = link_population(features, settings, report)
    pairs = [*result.links, *result.reviews]
    report("write", 0, len(pairs))
    for start in range(0, len(pairs), PAIRS_PER_TRANSACTION):
        with store.session() as session, internal():
            for pair in pairs[start : start + PAIRS_PER_TRANSACTION]:
                candidate = _candidate(pair, registry)
                registry.consider(session, pair.left, candidate, {})
        report("write", min(start + PAIRS_PER_TRANSACTION, len(pairs)), len(pairs))
    return BatchReport(result.records, len(result.links), len(result.reviews), result.seconds)


def _candidate(pair: ScoredPair, registry: MpiRegistry) -> Candidate:
    """A batch pair as the real-time path scores it (a review pair the batch held back because
    it would join two CCCDs is held back again by ``join``, and queued)."""
    if pair.rule == "cccd":
        return Candidate(pair.right, 1.0, float("inf"), Grade.CERTAIN, "cccd")
    grade = grade_of(pair.probability, registry.matcher.thresholds)
    probability = min(max(pair.probability, 1e-12), 1 - 1e-12)
    weight = math.log2(probability / (1 - probability))
    return Candidate(pair.right, pair.probability, weight, grade, "model")


__all__ = ["BatchReport", "link_store"]
