"""Batch linking of a whole population: CCCD groups, then Splink (DuckDB) on the rest, then
clusters that never join two different citizen IDs.

Splink predict and clustering: https://moj-analytical-services.github.io/splink/
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from yteso.fhir.types import Json
from yteso.mpi.decisions import Thresholds
from yteso.mpi.model import MatchModel, new_linker, train_model
from yteso.mpi.normalize import PatientFeatures, patient_features

#: ``progress(stage, done, total)``; stages: features, model, predict, cluster.
Progress = Callable[[str, int, int | None], None]
PROGRESS_EVERY = 10_000


@dataclass(frozen=True)
class LinkSettings:
    thresholds: Thresholds = field(default_factory=Thresholds)
    #: A saved model to use; if the file is missing, a model is trained and saved there.
    model_path: Path | None = None
    #: Records the EM training sees (a deterministic sample of a large population).
    training_sample: int = 200_000
    #: Random pairs for the u probabilities (how often non-matches agree by chance).
    u_pairs: int = 2_000_000
    seed: int = 1
    #: Where the pairs are predicted: "duckdb" (embedded) or "spark" (Splink's SparkAPI).
    backend: str = "duckdb"


@dataclass(frozen=True)
class ScoredPair:
    left: str
    right: str
    probability: float
    rule: str  # "cccd" or "model"


@dataclass
class LinkResult:
    records: int
    links: list[ScoredPair]
    reviews: list[ScoredPair]
    #: record id -> cluster id (the smallest record id of the cluster)
    clusters: dict[str, str]
    model: MatchModel
    seconds: dict[str, float] = field(default_factory=dict)

    def linked_pairs(self) -> set[tuple[str, str]]:
        """Every pair of records in one cluster, (smaller id, larger id)."""
        members: dict[str, list[str]] = {}
        for record, cluster in self.clusters.items():
            members.setdefault(cluster, []).append(record)
        pairs: set[tuple[str, str]] = set()
        for ids in members.values():
            ids.sort()
            pairs.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
        return pairs


def link_population(
    patients: Iterable[Json | PatientFeatures],
    settings: LinkSettings | None = None,
    progress: Progress | None = None,
) -> LinkResult:
    settings = settings or LinkSettings()
    report = progress or (lambda stage, done, total: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    features = _features(patients, report)
    seconds["features"] = time.perf_counter() - started
    model = _model(features, settings, report)
    seconds["model"] = time.perf_counter() - started - sum(seconds.values())
    report("predict", 0, None)
    scored = _predict(features, model, settings.thresholds.review, settings.backend)
    seconds["predict"] = time.perf_counter() - started - sum(seconds.values())
    report("cluster", 0, len(features))
    result = _cluster(features, scored, settings.thresholds, model)
    seconds["cluster"] = time.perf_counter() - started - sum(seconds.values())
    result.seconds = seconds
    report("cluster", len(features), len(features))
    return result


def _features(
    patients: Iterable[Json | PatientFeatures], report: Progress
) -> list[PatientFeatures]:
    features = []
    for count, patient in enumerate(patients, 1):
        features.append(
            patient if isinstance(patient, PatientFeatures) else patient_features(patient)
        )
        if count % PROGRESS_EVERY == 0:
            report("features", count, None)
    report("features", len(features), len(features))
    return features


def _model(features: list[PatientFeatures], settings: LinkSettings, report: Progress) -> MatchModel:
    if settings.model_path is not None and settings.model_path.exists():
        return MatchModel.load(settings.model_path)
    report("model", 0, None)
    sample = training_sample(features, settings.training_sample)
    path = settings.model_path or Path(".yteso") / "mpi-model.json"
    model = train_model(
        sample, path, seed=settings.seed, u_pairs=settings.u_pairs, population=len(features)
    )
    report("model", len(sample), len(sample))
    return model


def training_sample(features: list[PatientFeatures], size: int) -> list[PatientFeatures]:
    """About ``size`` records, chosen by a hash of the birth key so that a person's records
    (which share it, day/month swaps included) stay together whatever the input order."""
    if len(features) <= size:
        return features
    cut = size * (1 << 32) // len(features)
    return [f for f in features if zlib.crc32((f.birth_key or f.id).encode()) < cut]


def _predict(
    features: list[PatientFeatures], model: MatchModel, threshold: float, backend: str = "duckdb"
) -> list[ScoredPair]:
    """Model-scored pairs at or above ``threshold`` (pairs with CCCDs on both sides excluded)."""
    if backend == "spark":
        from yteso.mpi.spark_linking import spark_predict

        found = spark_predict(features, model.splink_json, threshold)
        return [ScoredPair(a, b, p, "model") for a, b, p in found]
    if backend != "duckdb":
        raise ValueError(f"unknown linking backend {backend!r} (duckdb or spark)")
    linker = new_linker(features, model.splink_json)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    rows = predictions.as_duckdbpyrelation().select("id_l, id_r, match_probability").fetchall()
    return [ScoredPair(str(a), str(b), float(p), "model") for a, b, p in rows]


def _cluster(
    features: list[PatientFeatures],
    scored: list[ScoredPair],
    thresholds: Thresholds,
    model: MatchModel,
) -> LinkResult:
    clusters = _Clusters(features)
    links: list[ScoredPair] = []
    reviews: list[ScoredPair] = []
    by_cccd: dict[str, str] = {}
    for record in features:
        if record.cccd is None:
            continue
        first = by_cccd.setdefault(record.cccd, record.id)
        if first != record.id and clusters.union(first, record.id):
            links.append(ScoredPair(first, record.id, 1.0, "cccd"))
    for pair in sorted(scored, key=lambda p: (-p.probability, p.left, p.right)):
        if pair.probability >= thresholds.auto_link and clusters.union(pair.left, pair.right):
            links.append(pair)
        elif clusters.find(pair.left) != clusters.find(pair.right):
            reviews.append(pair)  # below auto-link, or it would join two different CCCDs
    ids = {record.id: clusters.find(record.id) for record in features}
    return LinkResult(len(features), links, reviews, ids, model)


class _Clusters:
    """Union-find whose clusters each hold at most one CCCD."""

    def __init__(self, features: list[PatientFeatures]) -> None:
        self._parent = {f.id: f.id for f in features}
        self._cccd = {f.id: f.cccd for f in features if f.cccd}

    def find(self, record: str) -> str:
        parent = self._parent
        while parent[record] != record:
            parent[record] = parent[parent[record]]
            record = parent[record]
        return record

    def union(self, left: str, right: str) -> bool:
        a, b = self.find(left), self.find(right)
        if a == b:
            return False
        cccd_a, cccd_b = self._cccd.get(a), self._cccd.get(b)
        if cccd_a and cccd_b and cccd_a != cccd_b:
            return False
        root, child = min(a, b), max(a, b)
        self._parent[child] = root
        if cccd_a or cccd_b:
            self._cccd[root] = cccd_a or cccd_b  # type: ignore[assignment]
        return True
