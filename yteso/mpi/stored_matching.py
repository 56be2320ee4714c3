"""Real-time matching against the match records the store keeps (every server process sees
the same ones): a Patient becomes blocking keys and a features text on write, and an incoming
Patient is scored against the records sharing a key, with the saved model in pure Python.

The keys are those of :func:`yteso.mpi.match_index.blocking_keys` plus the CCCD, so this path
and the in-memory :class:`~yteso.mpi.MatchIndex` find the same candidates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from yteso.fhir.types import Json
from yteso.mpi.comparisons import COMPARISONS
from yteso.mpi.decisions import Candidate, Decision, Thresholds, outcome_of
from yteso.mpi.match_index import blocking_keys, score_pair
from yteso.mpi.model import MatchModel
from yteso.mpi.normalize import PatientFeatures, patient_features

#: keys -> (id, features text) of the records sharing one (the store's ``match_candidates``)
CandidateSource = Callable[[Sequence[str]], list[tuple[str, str]]]
MergedAway = Callable[[Json], bool]


def match_keys(features: PatientFeatures) -> tuple[str, ...]:
    keyed = (f"cccd:{features.cccd}",) if features.cccd else ()
    return keyed + tuple(f"{kind}:{key}" for kind, key in blocking_keys(features))


def features_text(features: PatientFeatures) -> str:
    return json.dumps(list(features.row().values()), ensure_ascii=False, separators=(",", ":"))


def features_from_text(text: str) -> PatientFeatures:
    return PatientFeatures(*json.loads(text))


def match_entry(resource: Json) -> tuple[tuple[str, ...], str] | None:
    """The store's match row of a Patient; None for a record merged into another (it is
    inactive and points at its survivor with ``replaced-by``: the survivor is matched)."""
    if resource.get("active") is False and any(
        link.get("type") == "replaced-by" for link in resource.get("link") or []
    ):
        return None
    features = patient_features(resource)
    return match_keys(features), features_text(features)


@dataclass(frozen=True)
class Evidence:
    """How one comparison of a pair came out: the level and its weight (bits)."""

    comparison: str
    level: str
    weight: float


def evidence(model: MatchModel, left: PatientFeatures, right: PatientFeatures) -> list[Evidence]:
    found = []
    for comparison, weights in zip(COMPARISONS, model.weights, strict=True):
        index = comparison.level_of(left, right)
        found.append(Evidence(comparison.column, comparison.levels[index].label, weights[index]))
    return found


class StoredMatcher:
    """Decides for one Patient against the store's match records."""

    def __init__(self, model: MatchModel, thresholds: Thresholds | None = None) -> None:
        self.model = model
        self.thresholds = thresholds or Thresholds()

    def candidates(
        self,
        features: PatientFeatures,
        source: CandidateSource,
        exclude: Collection[str] = (),
    ) -> list[Candidate]:
        """Scored candidates at or above the review threshold (or certain), best first."""
        found = []
        for other_id, text in source(match_keys(features)):
            if other_id == features.id or other_id in exclude:
                continue
            candidate = score_pair(self.model, self.thresholds, features, features_from_text(text))
            if candidate is not None:
                found.append(candidate)
        return sorted(found, key=lambda c: (-c.probability, c.id))

    def decide(
        self, resource: Json, source: CandidateSource, exclude: Collection[str] = ()
    ) -> Decision:
        features = patient_features(resource)
        found = tuple(self.candidates(features, source, exclude))
        return Decision(features.id, outcome_of(found), found)


__all__ = [
    "CandidateSource",
    "Evidence",
    "StoredMatcher",
    "evidence",
    "features_from_text",
    "features_text",
    "match_entry",
    "match_keys",
]
