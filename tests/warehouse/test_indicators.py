"""Indicators on DuckDB over hand-written resources: values worked out by hand in the docstrings
of ``indicator_data``; definitions' errors; the notifiable list against ref/vn."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import shared_path
from tests.warehouse import indicator_data as data
from yteso.fhir.errors import Invalid, NotFound
from yteso.fhir.validation import validate
from yteso.warehouse.indicators import (
    IndicatorWarehouse,
    measure_report,
    query_indicator,
    read_indicator,
    shipped_indicators,
    shipped_views,
)


@pytest.fixture
def warehouse() -> Iterator[IndicatorWarehouse]:
    w = IndicatorWarehouse()
    try:
        yield w
    finally:
        w.close()


def values(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], tuple[int, int, Any]]:
    return {
        tuple(r[k] for k in ("period", *keys)): (r["numerator"], r["denominator"], r["value"])
        for r in rows
    }


def test_dtp3_and_measles_coverage(warehouse: IndicatorWarehouse) -> None:
    warehouse.run(data.coverage_set())
    dtp3 = query_indicator(warehouse, "dtp3-coverage", period="month")
    assert values(dtp3) == {("2025-01",): (1, 2, 50.0), ("2025-02",): (0, 2, 0.0)}
    by_sex = query_indicator(warehouse, "dtp3-coverage", period="year", by=["sex"])
    assert values(by_sex, "sex") == {
        ("2025", "female"): (1, 2, 50.0),
        ("2025", "male"): (0, 2, 0.0),
    }
    by_place = query_indicator(
        warehouse, "dtp3-coverage", period="quarter", by=["province", "facility", "age_group"]
    )
    assert values(by_place, "province", "facility", "age_group") == {
        ("2025-Q1", "Hà Nội", "org-1", "1-4"): (1, 2, 50.0),
        ("2025-Q1", "Huế", "org-2", "1-4"): (0, 2, 0.0),
    }
    measles = query_indicator(warehouse, "measles-coverage", period="month")
    assert values(measles) == {("2025-01",): (1, 2, 50.0), ("2025-02",): (1, 2, 50.0)}
    only_feb = query_indicator(
        warehouse, "measles-coverage", period="month", start="2025-02-01", end="2025-12-31"
    )
    assert [r["period"] for r in only_feb] == ["2025-02"]


def test_under_treatment(warehouse: IndicatorWarehouse) -> None:
    warehouse.run(data.treatment_set())
    assert values(query_indicator(warehouse, "hypertension-treated", period="month")) == {
        ("2025-03",): (1, 2, 50.0)
    }
    assert values(query_indicator(warehouse, "diabetes-treated", period="quarter")) == {
        ("2025-Q2",): (1, 1, 100.0)
    }


def test_encounter_shares(warehouse: IndicatorWarehouse) -> None:
    warehouse.run(data.encounter_set())
    records = query_indicator(warehouse, "electronic-record-share", period="month", by=["facility"])
    assert values(records, "facility") == {
        ("2025-01", "org-1"): (1, 2, 50.0),
        ("2025-01", "org-2"): (0, 1, 0.0),
    }
    tele = query_indicator(warehouse, "telehealth-share", period="week")
    assert values(tele) == {("2025-W02",): (1, 3, 33.3333)}


def test_notifiable_rate_per_100000_by_week(warehouse: IndicatorWarehouse) -> None:
    warehouse.run(data.notifiable_set())
    weekly = query_indicator(warehouse, "notifiable-cases", period="week")
    assert values(weekly) == {
        ("2025-W02",): (2, 4, 50000.0),
        ("2025-W03",): (0, 4, 0.0),  # no case, the population still counts
        ("2025-W04",): (1, 4, 25000.0),
    }
    by_province = query_indicator(warehouse, "notifiable-cases", period="week", by=["province"])
    assert values(by_province, "province")[("2025-W02", "Hà Nội")] == (2, 2, 100000.0)
    assert values(by_province, "province")[("2025-W04", "Huế")] == (1, 2, 50000.0)
    monthly = query_indicator(warehouse, "notifiable-cases", period="month")
    assert values(monthly) == {("2025-01",): (3, 4, 75000.0)}


def test_measure_report(warehouse: IndicatorWarehouse) -> None:
    warehouse.run(data.coverage_set())
    rows = query_indicator(warehouse, "dtp3-coverage", period="month", by=["sex"])
    report = measure_report(warehouse.indicators["dtp3-coverage"], rows, ["sex"])
    assert report["resourceType"] == "MeasureReport"
    assert report["period"] == {"start": "2025-01-01", "end": "2025-02-28"}
    assert [i for i in validate(report) if i.severity in ("error", "fatal")] == []
    group = report["group"][0]
    assert [p["count"] for p in group["population"]] == [1, 4]
    assert group["measureScore"] == {"value": 25.0}
    assert len(group["stratifier"][0]["stratum"]) == 4  # 2 months x 2 sexes


def test_bad_queries_name_the_parameter(warehouse: IndicatorWarehouse) -> None:
    warehouse.run(data.coverage_set())
    with pytest.raises(Invalid, match="by: unknown disaggregation 'district'"):
        query_indicator(warehouse, "dtp3-coverage", by=["district"])
    with pytest.raises(Invalid, match="period: "):
        query_indicator(warehouse, "dtp3-coverage", period="week")
    with pytest.raises(Invalid, match="from: expected a date"):
        query_indicator(warehouse, "dtp3-coverage", start="January")
    with pytest.raises(NotFound):
        query_indicator(warehouse, "no-such-indicator")


def _definition(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "x",
        "title": "X",
        "kind": "proportion",
        "unit": {"view": "ind_encounter", "subject": "patient_id", "date": "start"},
        "numerator": {"where": [{"column": "class", "op": "eq", "value": "VR"}]},
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "ratio"}, r"Indicator.kind"),
        ({"unit": {"view": "nope"}}, r"Indicator.unit.view: unknown view 'nope'"),
        (
            {"unit": {"view": "ind_encounter", "subject": "patient", "date": "start"}},
            r"Indicator.unit.subject: unknown column 'patient'",
        ),
        (
            {"numerator": {"where": [{"column": "class", "op": "like", "value": "V%"}]}},
            r"Indicator.numerator.where\[0\].op: unknown operator 'like'",
        ),
        (
            {"numerator": {"where": [{"column": "class", "op": "eq", "value": {"x": 1}}]}},
            r"Indicator.numerator.where\[0\].value",
        ),
        (
            {"numerator": {"where": [{"column": "class); DROP TABLE x; --", "op": "present"}]}},
            r"Indicator.numerator.where\[0\].column: unknown column",
        ),
        ({"kind": "rate"}, r"Indicator.numerator: a rate counts its units"),
        ({"age_groups": [5, 1]}, r"Indicator.age_groups"),
        ({"periods": ["day"]}, r"Indicator.periods"),
    ],
)
def test_bad_definitions_name_the_element(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        read_indicator(_definition(**changes))


def test_a_custom_indicator_with_an_inline_view() -> None:
    inline = {
        "resourceType": "ViewDefinition",
        "name": "visits",
        "status": "active",
        "resource": "Encounter",
        "select": [
            {
                "column": [
                    {"name": "id", "path": "getResourceKey()"},
                    {"name": "last_updated", "path": "meta.lastUpdated"},
                    {"name": "patient_id", "path": "subject.getReferenceKey(Patient)"},
                    {"name": "day", "path": "period.start"},
                    {"name": "kind", "path": "class.code"},
                ]
            }
        ],
    }
    custom = read_indicator(
        _definition(
            unit={"view": inline, "subject": "patient_id", "date": "day"},
            numerator={"where": [{"column": "kind", "op": "in", "value": ["AMB", "VR"]}]},
        )
    )
    w = IndicatorWarehouse(indicators={"x": custom}, checks={})
    try:
        w.run(data.encounter_set())
        # e1..e4 all count here (no status filter): AMB e1, e3, e4 and VR e2
        assert values(query_indicator(w, "x", period="year")) == {("2025",): (4, 4, 100.0)}
    finally:
        w.close()


def test_shipped_views_and_indicators_load() -> None:
    assert set(shipped_indicators()) == {
        "dtp3-coverage",
        "measles-coverage",
        "hypertension-treated",
        "diabetes-treated",
        "notifiable-cases",
        "electronic-record-share",
        "telehealth-share",
    }
    assert all(name.startswith("ind_") for name in shipped_views())


def test_notifiable_codes_cover_the_confirmed_rows_of_circular_54() -> None:
    """Every ICD-10 code printed on a confirmed row of ref/vn is counted, except the two the
    definition leaves out on purpose (J10 avian influenza and B95 Streptococcus suis)."""
    table = shared_path("ref", "vn", "notifiable_tt54_2015.csv")
    prefixes = shipped_indicators()["notifiable-cases"].where[0]["value"]
    with table.open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["status"] != "confirmed" or not row["icd10"]:
                continue
            printed = re.findall(r"\b[A-Z]\d{2}(?:\.\d)?\b", row["icd10"])
            ranged = re.match(r"([A-Z])(\d{2})-[A-Z](\d{2})", row["icd10"])
            if ranged:
                letter, low, high = ranged.groups()
                printed = [f"{letter}{n:02d}" for n in range(int(low), int(high) + 1)]
            for code in printed:
                if code[:3] in ("J09", "J10", "B95"):
                    continue
                assert any(code.startswith(p) for p in prefixes), (row["disease_en"], code)
