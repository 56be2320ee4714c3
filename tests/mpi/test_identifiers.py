from __future__ import annotations

import pytest

from yteso.fhir.vn_core import BHYT_SYSTEM, CCCD_SYSTEM
from yteso.fhir.vn_identifiers import (
    SOCIAL_INSURANCE_SYSTEM,
    check_patient_identifiers,
    social_insurance_number,
    valid_cccd,
)


def patient(system: str, value: str, birth: str | None = "1985-03-04", gender: str = "male"):
    resource = {
        "resourceType": "Patient",
        "gender": gender,
        "identifier": [{"system": system, "value": value}],
    }
    if birth:
        resource["birthDate"] = birth
    return resource


@pytest.mark.parametrize(
    ("system", "value", "birth", "gender", "expected"),
    [
        (CCCD_SYSTEM, "001085123456", "1985-03-04", "male", []),
        (CCCD_SYSTEM, "079303000001", "2003-12-31", "female", []),
        (CCCD_SYSTEM, "001085123456", None, "male", []),
        (CCCD_SYSTEM, "00108512345", "1985-03-04", "male", ["12 digits"]),
        (CCCD_SYSTEM, "00108512345X", "1985-03-04", "male", ["12 digits"]),
        (CCCD_SYSTEM, "003085123456", "1985-03-04", "male", ["unknown province code 003"]),
        (CCCD_SYSTEM, "001185123456", "1985-03-04", "male", ["sex digit 1"]),
        (CCCD_SYSTEM, "001285123456", "1985-03-04", "male", ["century digit 2"]),
        (CCCD_SYSTEM, "001086123456", "1985-03-04", "male", ["birth year digits 86"]),
        (CCCD_SYSTEM, "001085123456", "1985-03-04", "unknown", []),
        (CCCD_SYSTEM, "001385123456", "2085", "unknown", []),
        (BHYT_SYSTEM, "DN4790791234567", None, "male", []),
        (BHYT_SYSTEM, "DN479079123456", None, "male", ["15 characters"]),
        (BHYT_SYSTEM, "dn4790791234567", None, "male", ["15 characters"]),
        (BHYT_SYSTEM, "DN9790791234567", None, "male", ["15 characters"]),
        (SOCIAL_INSURANCE_SYSTEM, "0791234567", None, "male", []),
        (SOCIAL_INSURANCE_SYSTEM, "07912345", None, "male", ["10 digits"]),
        ("urn:oid:1.2.3", "anything at all", None, "male", []),
    ],
)
def test_identifier_rules(system, value, birth, gender, expected):
    issues = check_patient_identifiers(patient(system, value, birth, gender))
    assert len(issues) == len(expected)
    for issue, fragment in zip(issues, expected, strict=True):
        assert fragment in issue.diagnostics
        assert issue.expression == ("Patient.identifier[0].value",)
        assert (issue.severity, issue.code) == ("error", "value")


def test_expression_points_at_the_broken_identifier():
    resource = patient(BHYT_SYSTEM, "DN4790791234567")
    resource["identifier"].append({"system": CCCD_SYSTEM, "value": "1234"})
    [issue] = check_patient_identifiers(resource)
    assert issue.expression == ("Patient.identifier[1].value",)


def test_other_resources_are_left_alone():
    assert (
        check_patient_identifiers(
            {"resourceType": "Practitioner", "identifier": [{"system": CCCD_SYSTEM, "value": "1"}]}
        )
        == []
    )


@pytest.mark.parametrize(
    ("system", "value", "cccd", "bhxh"),
    [
        (CCCD_SYSTEM, "001085123456", "001085123456", None),
        (CCCD_SYSTEM, "001185123456", None, None),
        (BHYT_SYSTEM, "DN4790791234567", None, "0791234567"),
        (SOCIAL_INSURANCE_SYSTEM, "0791234567", None, "0791234567"),
        (BHYT_SYSTEM, "DN47907912345", None, None),
    ],
)
def test_keys_for_matching(system, value, cccd, bhxh):
    resource = patient(system, value)
    assert valid_cccd(resource) == cccd
    assert social_insurance_number(resource) == bhxh
