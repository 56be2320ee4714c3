"""Master patient index: identifier rules, normalisation, matching and linking decisions.

See docs/mpi.md.
"""

from __future__ import annotations

from yteso.mpi.decisions import (
    Candidate,
    Decision,
    Grade,
    Outcome,
    Thresholds,
    match_bundle,
)
from yteso.mpi.identifiers import (
    SOCIAL_INSURANCE_SYSTEM,
    check_patient_identifiers,
    social_insurance_number,
    valid_cccd,
)
from yteso.mpi.linking import LinkResult, LinkSettings, ScoredPair, link_population
from yteso.mpi.match_index import MatchIndex
from yteso.mpi.model import MatchModel, train_model
from yteso.mpi.normalize import PatientFeatures, patient_features

__all__ = [
    "Candidate",
    "Decision",
    "Grade",
    "LinkResult",
    "LinkSettings",
    "MatchIndex",
    "MatchModel",
    "Outcome",
    "PatientFeatures",
    "SOCIAL_INSURANCE_SYSTEM",
    "ScoredPair",
    "Thresholds",
    "check_patient_identifiers",
    "link_population",
    "match_bundle",
    "patient_features",
    "social_insurance_number",
    "train_model",
    "valid_cccd",
]
