"""``ResourceAccess.search_criteria``: what a caller may see of a type, said as search criteria
(ANDed into chains and ``_has``), or None where only a per-resource check can say it."""

from __future__ import annotations

import pytest

from yteso.auth import Principal, ResourceAccess, ScopeSet

ALICE = ("_compartment", "Patient/alice")
VITAL = ("category", "vital-signs")
VITAL_SCOPE = "patient/Observation.rs?category=vital-signs"


def _access(scope: str, **claims: str) -> ResourceAccess:
    principal = Principal("someone", ScopeSet.parse(scope), "jti", 0, **claims)
    return ResourceAccess(principal)


@pytest.mark.parametrize(
    ("scope", "claims", "resource_type", "expected"),
    [
        ("system/*.rs", {}, "Observation", ()),
        ("user/*.rs", {}, "Observation", ()),  # an operator token: not bound to a facility
        ("patient/Observation.rs", {"patient": "alice"}, "Observation", (ALICE,)),
        ("patient/*.rs", {"patient": "alice"}, "Patient", (ALICE,)),
        (
            "patient/Observation.rs?category=vital-signs",
            {"patient": "alice"},
            "Observation",
            (VITAL, ALICE),
        ),
        ("system/Observation.rs?category=vital-signs", {}, "Observation", (VITAL,)),
        # the union of two scopes is the wider one's set...
        (
            f"{VITAL_SCOPE} patient/Observation.rs",
            {"patient": "alice"},
            "Observation",
            (ALICE,),
        ),
        # ...and not expressible when neither holds the other
        (
            f"{VITAL_SCOPE} patient/Observation.rs?category=laboratory",
            {"patient": "alice"},
            "Observation",
            None,
        ),
        ("patient/Observation.rs?date=2020", {"patient": "alice"}, "Observation", None),
        ("patient/Observation.rs", {"patient": "alice"}, "Condition", None),  # not granted
        ("patient/Observation.r", {"patient": "alice"}, "Observation", None),  # no search
        ("patient/*.rs", {"patient": "alice"}, "Organization", None),  # outside compartments
        ("patient/*.rs", {}, "Observation", None),  # a patient scope without a patient
        ("user/*.rs", {"fhir_user": "Practitioner/a"}, "Observation", None),  # Consents, labels
        ("user/*.rs", {"fhir_user": "Practitioner/a"}, "Patient", None),
        ("user/*.rs", {"fhir_user": "Practitioner/a"}, "Organization", ()),
        ("user/*.rs", {"fhir_user": "Practitioner/a", "break_glass": "x" * 12}, "Patient", ()),
        ("user/*.rs", {"role": "auditor"}, "Observation", None),
    ],
)
def test_search_criteria(
    scope: str,
    claims: dict[str, str],
    resource_type: str,
    expected: tuple[tuple[str, str], ...] | None,
) -> None:
    assert _access(scope, **claims).search_criteria(resource_type) == expected
