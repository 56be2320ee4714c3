"""Linking decisions as data, and the ``Patient/$match`` searchset Bundle built from them.

https://hl7.org/fhir/R4/patient-operation-match.html: each entry carries ``search.mode = match``,
``search.score`` (0..1) and the ``match-grade`` extension (certain | probable | possible |
certainly-not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from yteso.fhir.types import Json

MATCH_GRADE_URL = "http://hl7.org/fhir/StructureDefinition/match-grade"


class Outcome(StrEnum):
    LINK = "link"  # auto-linked: the same person
    REVIEW = "review"  # queued for a data steward
    UNIQUE = "unique"  # no candidate worth a look


class Grade(StrEnum):
    CERTAIN = "certain"
    PROBABLE = "probable"
    POSSIBLE = "possible"
    CERTAINLY_NOT = "certainly-not"


@dataclass(frozen=True)
class Thresholds:
    """Match probabilities at or above which a pair is auto-linked, or sent to review.

    The defaults come from the benchmark's threshold sweep (docs/benchmarks.md): on 1,000,000
    synthetic people with half the CCCDs removed, 0.99 kept precision at 0.99995 with recall
    0.988, where 0.999 lost 5% of recall. Re-check them on a steward-labelled sample of real data.
    """

    auto_link: float = 0.99
    review: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.auto_link <= 1.0:
            raise ValueError("thresholds need 0 <= review <= auto_link <= 1")


@dataclass(frozen=True)
class Candidate:
    """One scored candidate for an incoming Patient."""

    id: str
    probability: float
    match_weight: float
    grade: Grade
    rule: str  # "cccd" (deterministic) or "model"


def grade_of(probability: float, thresholds: Thresholds) -> Grade:
    if probability >= thresholds.auto_link:
        return Grade.PROBABLE
    if probability >= thresholds.review:
        return Grade.POSSIBLE
    return Grade.CERTAINLY_NOT


def outcome_of(candidates: Sequence[Candidate]) -> Outcome:
    grades = {candidate.grade for candidate in candidates}
    if grades & {Grade.CERTAIN, Grade.PROBABLE}:
        return Outcome.LINK
    if Grade.POSSIBLE in grades:
        return Outcome.REVIEW
    return Outcome.UNIQUE


@dataclass(frozen=True)
class Decision:
    """What to do with one incoming Patient, and why (the candidates, best first)."""

    patient_id: str
    outcome: Outcome
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def match_bundle(
    candidates: Sequence[Candidate],
    resources: dict[str, Json],
    *,
    base_url: str = "",
    only_certain: bool = False,
    count: int | None = None,
) -> Json:
    """The ``$match`` response: a searchset of the candidate Patients, best score first.

    ``resources`` maps candidate ids to their Patient resources (candidates without one are
    left out); ``only_certain`` and ``count`` are the operation's ``onlyCertainMatches`` and
    ``count`` parameters.
    """
    ranked = sorted(candidates, key=lambda c: (-c.probability, c.id))
    ranked = [c for c in ranked if c.id in resources and c.grade is not Grade.CERTAINLY_NOT]
    if only_certain:
        ranked = [c for c in ranked if c.grade is Grade.CERTAIN]
    if count is not None:
        ranked = ranked[:count]
    prefix = f"{base_url.rstrip('/')}/" if base_url else ""
    entries = [
        {
            "fullUrl": f"{prefix}Patient/{c.id}",
            "resource": resources[c.id],
            "search": {
                "extension": [{"url": MATCH_GRADE_URL, "valueCode": c.grade.value}],
                "mode": "match",
                "score": round(c.probability, 6),
            },
        }
        for c in ranked
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
