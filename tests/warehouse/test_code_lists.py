"""Validity against real code lists: ICD-10 codes must exist (WHO 2019 and the Vietnamese
additions), not merely look like codes; value sets by URL instead of literal lists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.warehouse import indicator_data as data
from yteso.fhir.errors import Invalid
from yteso.warehouse.indicators import IndicatorWarehouse, query_quality
from yteso.warehouse.indicators.code_lists import ICD10_VALUE_SET, icd10_codes, value_set
from yteso.warehouse.indicators.filters import compile_filters
from yteso.warehouse.quality import shipped_checks

ICD10 = [
    ("I10", True),
    ("E11.9", True),
    ("A09", True),  # a category that has subcategories is a code too
    ("B08.4", True),  # hand-foot-mouth disease
    ("A08.4", True),  # what Circular 54/2015 prints for it: exists (another disease)
    ("A97", True),  # dengue from the 2019 edition on
    ("A90", True),  # dengue before 2019, still sent by Vietnamese systems
    ("A91", True),
    ("U07.1", True),
    ("A00.5", False),  # well formed (the old format-only check passed it), names nothing
    ("I10.0", False),
    ("Z99.99", False),
    ("A00-A09", False),  # a block, not a code a record carries
    ("I", False),  # a chapter
    ("i10", False),
    ("I10 ", False),
]


@pytest.mark.parametrize(("code", "exists"), ICD10)
def test_icd10_code_list(code: str, exists: bool) -> None:
    assert (code in icd10_codes()) is exists


def test_value_sets_by_url() -> None:
    assert value_set(ICD10_VALUE_SET + "|2019", "v") is icd10_codes()
    gender = value_set("http://hl7.org/fhir/ValueSet/administrative-gender", "v")
    assert gender == {"male", "female", "other", "unknown"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://example.org/ValueSet/nope", r"Check.pass\[0\].value: no code list for"),
        (["I10"], r"Check.pass\[0\].value: expected the canonical URL"),
        ("", r"Check.pass\[0\].value: expected the canonical URL"),
    ],
)
def test_unknown_value_set_names_the_element(value: object, message: str) -> None:
    spec = [{"column": "code", "op": "in_value_set", "value": value}]
    with pytest.raises(Invalid, match=message):
        compile_filters(spec, ["code"], "r", "Check.pass")


@pytest.fixture
def validity() -> Iterator[IndicatorWarehouse]:
    checks = {k: v for k, v in shipped_checks().items() if k.endswith("-valid")}
    w = IndicatorWarehouse(indicators={}, checks=checks)
    odd = data.patient("pat-b", "1990-05-01", "male", serial=2)
    odd["gender"] = "M"  # not a code of administrative-gender
    when = "2025-03-01T08:00:00+07:00"
    w.run(
        [
            data.patient("pat-a", "1990-05-01", "female", serial=1),
            odd,
            data.condition("c-1", "pat-a", "I10", when),
            data.condition("c-2", "pat-a", "A91", when),
            data.condition("c-3", "pat-a", "A00.5", when),
            data.condition("c-4", "pat-b", "E11", when),  # a category with subcategories: E11.x
            data.condition("c-5", "pat-b", "XYZ", when),
        ]
    )
    yield w
    w.close()


def _passed(w: IndicatorWarehouse, check: str) -> tuple[int, int]:
    [row] = query_quality(w, period=None, by=[], check=check)
    return row["passed"], row["total"]


def test_condition_codes_must_exist(validity: IndicatorWarehouse) -> None:
    assert _passed(validity, "condition-icd10-valid") == (3, 5)


def test_gender_in_its_value_set(validity: IndicatorWarehouse) -> None:
    assert _passed(validity, "patient-gender-valid") == (1, 2)
