"""Partial-precision date search values and prefixes (https://hl7.org/fhir/R4/search.html#date)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from yteso.fhir.errors import Invalid
from yteso.store.date_ranges import date_condition, parse_date_range

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024", at(2024, 1, 1), at(2025, 1, 1)),
        ("2024-02", at(2024, 2, 1), at(2024, 3, 1)),
        ("2024-12", at(2024, 12, 1), at(2025, 1, 1)),
        ("2024-02-29", at(2024, 2, 29), at(2024, 3, 1)),
        ("2024-02-29T10:30", at(2024, 2, 29, 10, 30), at(2024, 2, 29, 10, 31)),
        ("2024-02-29T10:30:05", at(2024, 2, 29, 10, 30, 5), at(2024, 2, 29, 10, 30, 6)),
        (
            "2024-02-29T10:30:05.5Z",
            at(2024, 2, 29, 10, 30, 5, 500000),
            at(2024, 2, 29, 10, 30, 5, 600000),
        ),
        (
            "2024-02-29T10:30:05.123Z",
            at(2024, 2, 29, 10, 30, 5, 123000),
            at(2024, 2, 29, 10, 30, 5, 124000),
        ),
        ("2024-02-29T17:30:00+07:00", at(2024, 2, 29, 10, 30), at(2024, 2, 29, 10, 30, 1)),
    ],
)
def test_parse_date_range(text: str, start: datetime, end: datetime) -> None:
    span = parse_date_range(text)
    assert (span.start, span.end) == (start, end)


@pytest.mark.parametrize("text", ["2024-13", "24", "2024-02-30", "yesterday", "2024-1-01"])
def test_bad_dates_are_invalid(text: str) -> None:
    with pytest.raises(Invalid):
        parse_date_range(text)


@pytest.mark.parametrize(
    ("value", "lower", "upper", "negate"),
    [
        ("2024", at(2024, 1, 1), at(2025, 1, 1), False),
        ("eq2024", at(2024, 1, 1), at(2025, 1, 1), False),
        ("ne2024", at(2024, 1, 1), at(2025, 1, 1), True),
        ("gt2024", at(2025, 1, 1), None, False),
        ("sa2024", at(2025, 1, 1), None, False),
        ("ge2024", at(2024, 1, 1), None, False),
        ("lt2024", None, at(2024, 1, 1), False),
        ("eb2024", None, at(2024, 1, 1), False),
        ("le2024", None, at(2025, 1, 1), False),
        ("ap2025-01-01", at(2024, 11, 25, 12), at(2025, 2, 7, 12), False),  # 10% of 365 days
    ],
)
def test_prefixes(value: str, lower: datetime | None, upper: datetime | None, negate: bool) -> None:
    condition = date_condition(value, NOW)
    assert (condition.lower, condition.upper, condition.negate) == (lower, upper, negate)
