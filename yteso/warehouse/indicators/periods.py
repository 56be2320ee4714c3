"""Periods (ISO week, month, quarter, year) and age groups as DuckDB SQL over a DATE."""

from __future__ import annotations

PERIOD_UNITS = {"week": "WEEK", "month": "MONTH", "quarter": "QUARTER", "year": "YEAR"}


def period_label(period_type: str, day: str) -> str:
    """``2025-W07`` (ISO week), ``2025-02``, ``2025-Q1``, ``2025``."""
    if period_type == "week":
        return f"isoyear({day}) || '-W' || lpad(CAST(weekofyear({day}) AS VARCHAR), 2, '0')"
    if period_type == "month":
        return f"strftime({day}, '%Y-%m')"
    if period_type == "quarter":
        return f"CAST(year({day}) AS VARCHAR) || '-Q' || CAST(quarter({day}) AS VARCHAR)"
    return f"CAST(year({day}) AS VARCHAR)"


def period_start(period_type: str, day: str) -> str:
    return f"CAST(date_trunc('{period_type}', {day}) AS DATE)"


def period_end(period_type: str, day: str) -> str:
    unit = PERIOD_UNITS[period_type]
    return f"CAST({period_start(period_type, day)} + INTERVAL 1 {unit} - INTERVAL 1 DAY AS DATE)"


def age_group_labels(bands: tuple[int, ...]) -> list[str]:
    labels = []
    for lower, upper in zip(bands, (*bands[1:], None), strict=True):
        if upper is None:
            labels.append(f"{lower}+")
        elif lower == 0 and upper == 1:
            labels.append("<1")
        else:
            labels.append(f"{lower}-{upper - 1}")
    return labels


def age_group(bands: tuple[int, ...], birth: str, on: str) -> str:
    """The label of the band holding the completed years between ``birth`` and ``on``."""
    age = (
        f"(date_diff('year', {birth}, {on}) - CASE WHEN strftime({on}, '%m-%d') < "
        f"strftime({birth}, '%m-%d') THEN 1 ELSE 0 END)"
    )
    labels = age_group_labels(bands)
    cases = " ".join(
        f"WHEN {age} < {upper} THEN '{label}'"
        for upper, label in zip(bands[1:], labels, strict=False)
    )
    return f"CASE WHEN {birth} IS NULL OR {on} IS NULL THEN NULL {cases} ELSE '{labels[-1]}' END"
