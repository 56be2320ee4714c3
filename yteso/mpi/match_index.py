"""Real-time matching: blocking keys in memory, one incoming Patient scored against its candidates.

Every Patient create/update is matched as it is written: a valid CCCD decides alone (same number:
certain; different numbers: certainly not); otherwise the candidates sharing a blocking key (birth
date up to a day/month swap, word-order-free name in the same ward, or phone) are scored with the
trained model in pure Python, the same levels the Splink batch run uses.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

from yteso.fhir.types import Json
from yteso.mpi.decisions import Candidate, Decision, Grade, Thresholds, grade_of, outcome_of
from yteso.mpi.model import MatchModel
from yteso.mpi.normalize import PatientFeatures, patient_features

BlockingKey = tuple[str, str]


def blocking_keys(features: PatientFeatures) -> Iterator[BlockingKey]:
    """The keys of ``model.PREDICTION_BLOCKING``, as strings for a dictionary lookup."""
    if features.birth_key:
        yield ("birth", features.birth_key)
    if features.name_key and features.ward:
        yield ("name-ward", f"{features.name_key}|{features.ward}")
    if features.phone:
        yield ("phone", features.phone)


def _interned(features: PatientFeatures) -> PatientFeatures:
    """Share the strings many records repeat (ward, birth date, family name): 1M people fit."""
    values = [sys.intern(v) if isinstance(v, str) else v for v in features.row().values()]
    return PatientFeatures(*values)  # type: ignore[arg-type]


def score_pair(
    model: MatchModel, thresholds: Thresholds, features: PatientFeatures, other: PatientFeatures
) -> Candidate | None:
    """``other`` as a candidate for ``features`` (same CCCD: certain), or None below review."""
    if features.cccd and other.cccd:
        if features.cccd == other.cccd:
            return Candidate(other.id, 1.0, float("inf"), Grade.CERTAIN, "cccd")
        return None  # different valid CCCDs: not this person, whatever else agrees
    weight = model.match_weight(features, other)
    probability = model.probability(features, other)
    grade = grade_of(probability, thresholds)
    if grade is Grade.CERTAINLY_NOT:
        return None
    return Candidate(other.id, probability, weight, grade, "model")


class MatchIndex:
    """The people known so far, indexed by CCCD and blocking key, for matching one at a time."""

    def __init__(self, model: MatchModel, thresholds: Thresholds | None = None) -> None:
        self.model = model
        self.thresholds = thresholds or Thresholds()
        self._records: dict[str, PatientFeatures] = {}
        self._by_cccd: dict[str, list[str]] = {}
        self._blocks: dict[BlockingKey, list[str]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, patient_id: object) -> bool:
        return patient_id in self._records

    def add(self, resource: Json | PatientFeatures) -> None:
        """Index a Patient (replacing an earlier version with the same id)."""
        features = resource if isinstance(resource, PatientFeatures) else patient_features(resource)
        if features.id in self._records:
            self.remove(features.id)
        features = _interned(features)
        self._records[features.id] = features
        if features.cccd:
            self._by_cccd.setdefault(features.cccd, []).append(features.id)
        for key in blocking_keys(features):
            self._blocks.setdefault(key, []).append(features.id)

    def add_all(self, resources: Iterable[Json | PatientFeatures]) -> None:
        for resource in resources:
            self.add(resource)

    def remove(self, patient_id: str) -> None:
        features = self._records.pop(patient_id, None)
        if features is None:
            return
        keyed = [("cccd", features.cccd)] if features.cccd else []
        for kind, key in [*keyed, *blocking_keys(features)]:
            table = self._by_cccd if kind == "cccd" else self._blocks
            lookup = key if kind == "cccd" else (kind, key)
            ids = table[lookup]  # type: ignore[index]
            ids.remove(patient_id)
            if not ids:
                del table[lookup]  # type: ignore[arg-type]

    def candidates(self, features: PatientFeatures) -> list[Candidate]:
        """Scored candidates above the review threshold (or certain), best first."""
        seen = {features.id}
        found: list[Candidate] = []
        for other_id in self._by_cccd.get(features.cccd or "", ()):
            if other_id not in seen:
                seen.add(other_id)
                found.append(Candidate(other_id, 1.0, float("inf"), Grade.CERTAIN, "cccd"))
        for key in blocking_keys(features):
            for other_id in self._blocks.get(key, ()):
                if other_id in seen:
                    continue
                seen.add(other_id)
                candidate = self._score(features, self._records[other_id])
                if candidate is not None:
                    found.append(candidate)
        return sorted(found, key=lambda c: (-c.probability, c.id))

    def _score(self, features: PatientFeatures, other: PatientFeatures) -> Candidate | None:
        return score_pair(self.model, self.thresholds, features, other)

    def match(self, resource: Json) -> Decision:
        """Decide for one Patient against the index, without adding it."""
        features = patient_features(resource)
        found = tuple(self.candidates(features))
        return Decision(features.id, outcome_of(found), found)

    def match_and_add(self, resource: Json) -> Decision:
        decision = self.match(resource)
        self.add(resource)
        return decision

    def features(self, patient_id: str) -> PatientFeatures | None:
        return self._records.get(patient_id)
