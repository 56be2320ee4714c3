"""Master patient index: identifier rules, normalisation, matching and linking decisions.

See docs/mpi.md.
"""

from __future__ import annotations

from yteso.fhir.vn_identifiers import (
    SOCIAL_INSURANCE_SYSTEM,
    check_patient_identifiers,
    social_insurance_number,
    valid_cccd,
)
from yteso.mpi.decisions import (
    Candidate,
    Decision,
    Grade,
    Outcome,
    Thresholds,
    match_bundle,
)
from yteso.mpi.linking import LinkResult, LinkSettings, ScoredPair, link_population
from yteso.mpi.match_index import MatchIndex
from yteso.mpi.match_operation import MatchRequest, match_request, run_match
from yteso.mpi.model import MatchModel, train_model
from yteso.mpi.normalize import PatientFeatures, patient_features

__all__ = [  # noqa: RUF022 - plain sorted order, as tests/test_public_api.py checks
    "Candidate",
    "Decision",
    "Grade",
    "LinkResult",
    "LinkSettings",
    "MatchIndex",
    "MatchModel",
    "MatchRequest",
    "Outcome",
    "PatientFeatures",
    "SOCIAL_INSURANCE_SYSTEM",
    "ScoredPair",
    "Thresholds",
    "check_patient_identifiers",
    "link_population",
    "match_bundle",
    "match_request",
    "patient_features",
    "run_match",
    "social_insurance_number",
    "train_model",
    "valid_cccd",
]
