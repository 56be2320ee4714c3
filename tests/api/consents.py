"""Consent resources for the access tests: a patient-privacy Consent (an opt-in policy) with
the provision each test needs."""

from __future__ import annotations

CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def consent(
    id: str, patient: str, provision: dict[str, object], status: str = "active"
) -> dict[str, object]:
    return {
        "resourceType": "Consent",
        "id": id,
        "status": status,
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient}"},
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN"}]},
        "provision": provision,
    }


def consent_actor(reference: str) -> list[dict[str, object]]:
    """A provision's ``actor``: the practitioner, organisation or role it applies to."""
    return [{"role": {"text": "doctor"}, "reference": {"reference": reference}}]
