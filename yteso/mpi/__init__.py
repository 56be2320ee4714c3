"""Master patient index: identifier rules, normalisation, matching and linking decisions."""

from __future__ import annotations

from yteso.mpi.identifiers import (
    SOCIAL_INSURANCE_SYSTEM,
    check_patient_identifiers,
    social_insurance_number,
    valid_cccd,
)

__all__ = [
    "SOCIAL_INSURANCE_SYSTEM",
    "check_patient_identifiers",
    "social_insurance_number",
    "valid_cccd",
]
