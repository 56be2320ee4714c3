from __future__ import annotations

import pytest

from yteso.fhir.vn_core import CCCD_SYSTEM, WARD_EXTENSION_URL
from yteso.mpi.normalize import (
    birth_date_variants,
    birth_key,
    fold,
    name_tokens,
    normalize_phone,
    patient_features,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Nguyễn Thị Đào", "nguyen thi dao"),
        ("  NGUYỄN   thị  ĐÀO ", "nguyen thi dao"),
        ("Trần Văn Đức-Anh", "tran van duc anh"),
        ("Lê Ngọc Ánh", "le ngoc anh"),
        ("Phạm Quỳnh Hương", "pham quynh huong"),
        ("", ""),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ({"family": "Nguyễn", "given": ["Thị", "Đào"]}, ("nguyen", "thi", "dao")),
        ({"text": "Đào Nguyễn Thị"}, ("dao", "nguyen", "thi")),
        ({"family": "Lê", "given": ["Văn Minh"]}, ("le", "van", "minh")),
        ({}, ()),
    ],
)
def test_name_tokens(name, tokens):
    assert name_tokens(name) == tokens


@pytest.mark.parametrize(
    ("date", "variants", "key"),
    [
        ("1990-03-07", ("1990-03-07", "1990-07-03"), "1990:03:07"),
        ("1990-07-03", ("1990-07-03", "1990-03-07"), "1990:03:07"),
        ("1990-03-25", ("1990-03-25",), "1990:03:25"),
        ("1990-05-05", ("1990-05-05",), "1990:05:05"),
        ("1990", ("1990",), "1990"),
        (None, (), None),
    ],
)
def test_birth_dates(date, variants, key):
    assert birth_date_variants(date) == variants
    assert birth_key(date) == key


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("0912345678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("912.345.678", "0912345678"),
        ("(091) 234-5678", "0912345678"),
        ("12345", None),
        ("+1 650 555 0100", None),
    ],
)
def test_normalize_phone(raw, phone):
    assert normalize_phone(raw) == phone


def test_patient_features():
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": CCCD_SYSTEM, "value": "001185123456"}],
        "name": [
            {"use": "usual", "text": "Bé Na"},
            {"use": "official", "family": "Trần", "given": ["Thị", "Na"]},
        ],
        "gender": "female",
        "birthDate": "1985-11-04",
        "telecom": [
            {"system": "email", "value": "a@b.vn"},
            {"system": "phone", "value": "+84912345678"},
        ],
        "address": [{"extension": [{"url": WARD_EXTENSION_URL, "valueCoding": {"code": "00004"}}]}],
    }
    features = patient_features(resource)
    assert features.row() == {
        "id": "p1",
        "cccd": "001185123456",
        "social_insurance": None,
        "name": "tran thi na",
        "name_key": "na thi tran",
        "family": "tran",
        "given": "na",
        "birth_date": "1985-11-04",
        "birth_key": "1985:04:11",
        "sex": "female",
        "ward": "00004",
        "phone": "0912345678",
    }
    assert patient_features({"resourceType": "Patient", "id": "x"}).name is None
