"""Date search values: prefixes and partial precision turned into half-open UTC ranges.

https://hl7.org/fhir/R4/search.html#date and #prefix. A search value such as ``2026-11`` means
the whole month ``[2026-11-01, 2026-12-01)``; a stored ``meta.lastUpdated`` is an instant (a
point at millisecond precision). A value without a time zone is taken as UTC, the server's
time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from yteso.fhir.errors import Invalid

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")

_DATE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d+)?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


@dataclass(frozen=True)
class DateRange:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class DateCondition:
    """One prefixed search value, reduced to bounds on a point in time: every bound present
    must hold (``lower <= t < upper``); ``negate`` flips the whole test (for ``ne``)."""

    lower: datetime | None
    upper: datetime | None
    negate: bool = False


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=total // 12, month=total % 12 + 1)


def parse_date_range(text: str, *, expression: str = "_lastUpdated") -> DateRange:
    """The range a partial date/dateTime covers (year, month, day, minute, second, fraction)."""
    match = _DATE.fullmatch(text)
    if match is None:
        raise Invalid(f"'{text}' is not a FHIR date or dateTime", expression=expression)
    parts = match.groupdict()
    try:
        start = datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(float(parts["fraction"] or 0) * 1_000_000),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise Invalid(f"'{text}' is not a valid date: {exc}", expression=expression) from exc
    zone = parts["zone"]
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        start -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return DateRange(start, start + _precision_step(parts, start))


def _precision_step(parts: dict[str, str | None], start: datetime) -> timedelta:
    if parts["month"] is None:
        return _add_months(start, 12) - start
    if parts["day"] is None:
        return _add_months(start, 1) - start
    if parts["hour"] is None:
        return timedelta(days=1)
    if parts["second"] is None:
        return timedelta(minutes=1)
    fraction = parts["fraction"]
    if fraction is None:
        return timedelta(seconds=1)
    return timedelta(seconds=10 ** -(len(fraction) - 1)) or timedelta(microseconds=1)


def split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES:
        return value[:2], value[2:]
    return "eq", value


def date_condition(value: str, now: datetime, *, expression: str = "_lastUpdated") -> DateCondition:
    """The bounds on a stored instant that ``value`` (with its prefix) asks for."""
    prefix, text = split_prefix(value)
    span = parse_date_range(text, expression=expression)
    if prefix == "eq":
        return DateCondition(span.start, span.end)
    if prefix == "ne":
        return DateCondition(span.start, span.end, negate=True)
    if prefix in ("gt", "sa"):
        return DateCondition(span.end, None)
    if prefix in ("lt", "eb"):
        return DateCondition(None, span.start)
    if prefix == "ge":
        return DateCondition(span.start, None)
    if prefix == "le":
        return DateCondition(None, span.end)
    # ap: the spec suggests 10% of the distance between now and the value.
    slack = abs(now - span.start) * 0.1
    return DateCondition(span.start - slack, span.end + slack)
