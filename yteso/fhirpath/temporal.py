"""Partial-precision Date, DateTime and Time values of FHIRPath.

https://hl7.org/fhirpath/N1/#datetime and https://hl7.org/fhirpath/N1/#comparison: values keep the
precision they were written with; comparing values whose precisions differ (after the common
components are equal) is undetermined (empty). Seconds and milliseconds count as one precision.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

DATE = "Date"
DATETIME = "DateTime"
TIME = "Time"

# Indices into DateTime parts: year, month, day, hour, minute, second, millisecond.
HOUR = 3
_TZ = r"(Z|[+-](?:\d{2}):(?:\d{2}))?"
_TIME = r"(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
_DATE_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_DATETIME_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T(?:" + _TIME + _TZ + r")?)?")
_FHIR_DATETIME_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T" + _TIME + _TZ + r")?")
_TIME_RE = re.compile(_TIME)
_MAX_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
CALENDAR_UNITS = ("year", "month", "week", "day", "hour", "minute", "second", "millisecond")


@dataclass(frozen=True, slots=True)
class Temporal:
    """A Date, DateTime or Time with the components it was given (``parts``) and its offset.

    For Date and DateTime ``parts`` starts at the year; for Time at the hour. ``tz`` is the
    offset in minutes, or None when the value has none.
    """

    kind: str
    parts: tuple[int, ...]
    tz: int | None = None

    @property
    def full_parts(self) -> tuple[int, ...]:
        """Parts aligned on the DateTime layout (Time values start at index ``HOUR``)."""
        return (0, 1, 1, *self.parts) if self.kind == TIME else self.parts

    @property
    def precision_digits(self) -> int:
        """The precision as FHIRPath's ``precision()`` counts it (digits of the value)."""
        digits = (4, 6, 8, 10, 12, 14, 17)
        if self.kind == TIME:
            return (2, 4, 6, 9)[len(self.parts) - 1]
        return digits[len(self.parts) - 1]

    def __str__(self) -> str:
        return format_temporal(self)

    def literal(self) -> str:
        text = format_temporal(self)
        if self.kind == TIME:
            return "@T" + text
        if self.kind == DATETIME and len(self.parts) <= HOUR:
            return "@" + text + "T"
        return "@" + text


def _ints(groups: tuple[str | None, ...]) -> tuple[int, ...]:
    out: list[int] = []
    for group in groups:
        if group is None:
            break
        out.append(int(group))
    return tuple(out)


def _millis(fraction: str | None) -> tuple[int, ...]:
    return () if fraction is None else (int((fraction + "00")[:3]),)


def _offset(text: str | None) -> int | None:
    if text is None:
        return None
    if text == "Z":
        return 0
    sign = -1 if text[0] == "-" else 1
    return sign * (int(text[1:3]) * 60 + int(text[4:6]))


def _valid(parts: tuple[int, ...], kind: str) -> bool:
    if kind == TIME:
        return _valid_time(parts)
    count = len(parts)
    if count > 1 and not 1 <= parts[1] <= 12:
        return False
    if count > 2:
        day = parts[2]
        if day < 1 or (day > 28 and day > calendar.monthrange(parts[0], parts[1])[1]):
            return False
    return count <= HOUR or _valid_time(parts[HOUR:])


def _valid_time(parts: tuple[int, ...]) -> bool:
    limits = (23, 59, 59, 999)
    return all(0 <= value <= limit for value, limit in zip(parts, limits, strict=False))


@lru_cache(maxsize=16384)
def parse_date(text: str) -> Temporal | None:
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # the common full date
        year, month, day = text[:4], text[5:7], text[8:]
        if year.isdigit() and month.isdigit() and day.isdigit():
            full: tuple[int, ...] = (int(year), int(month), int(day))
            return Temporal(DATE, full) if _valid(full, DATE) else None
    match = _DATE_RE.fullmatch(text)
    if match is None:
        return None
    parts = _ints(match.groups())
    return Temporal(DATE, parts) if _valid(parts, DATE) else None


@lru_cache(maxsize=16384)
def parse_datetime(text: str, *, literal: bool = False) -> Temporal | None:
    """A DateTime from a FHIRPath literal body (``literal``) or a FHIR/ISO string."""
    match = (_DATETIME_RE if literal else _FHIR_DATETIME_RE).fullmatch(text)
    if match is None:
        return None
    groups = match.groups()
    parts = _ints(groups[:6]) + (_millis(groups[6]) if groups[5] is not None else ())
    if len(parts) < 6 and groups[6] is not None:
        return None
    tz = _offset(groups[7])
    if tz is not None and len(parts) <= HOUR:
        return None
    return Temporal(DATETIME, parts, tz) if _valid(parts, DATETIME) else None


@lru_cache(maxsize=4096)
def parse_time(text: str) -> Temporal | None:
    match = _TIME_RE.fullmatch(text)
    if match is None:
        return None
    groups = match.groups()
    parts = _ints(groups[:3]) + (_millis(groups[3]) if groups[2] is not None else ())
    return Temporal(TIME, parts) if _valid(parts, TIME) else None


def parse_fhir(text: str, fhir_type: str) -> Temporal | None:
    """A FHIR ``date``/``dateTime``/``instant``/``time`` JSON string as a FHIRPath value."""
    if fhir_type == "date":
        return parse_date(text)
    if fhir_type == "time":
        return parse_time(text)
    return parse_datetime(text)


def parse_literal(text: str) -> Temporal | None:
    """The value of a FHIRPath literal body: ``2015-02``, ``2015T``, ``T14:34``, ..."""
    if text.startswith("T"):
        return parse_time(text[1:])
    if "T" in text:
        value = parse_datetime(text.removesuffix("T"), literal=True)
        return None if value is None else Temporal(DATETIME, value.parts, value.tz)
    return parse_date(text)


def format_temporal(value: Temporal) -> str:
    parts = value.parts
    if value.kind == TIME:
        return _format_time(parts)
    text = f"{parts[0]:04d}"
    for part in parts[1:3]:
        text += f"-{part:02d}"
    if len(parts) > HOUR:
        text += "T" + _format_time(parts[HOUR:])
        if value.tz is not None:
            text += _format_offset(value.tz)
    return text


def _format_time(parts: tuple[int, ...]) -> str:
    text = ":".join(f"{part:02d}" for part in parts[:3])
    if len(parts) > 3:
        text += f".{parts[3]:03d}"
    return text


def _format_offset(minutes: int) -> str:
    if minutes == 0:
        return "Z"
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _to_datetime(parts: tuple[int, ...]) -> datetime:
    year, month, day, hour, minute, second, millis = (
        tuple(parts) + (1, 1, 1, 0, 0, 0, 0)[len(parts) :]
    )
    return datetime(year, month, day, hour, minute, second, millis * 1000)  # noqa: DTZ001


def _from_datetime(moment: datetime, length: int) -> tuple[int, ...]:
    full = (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 1000,
    )
    return full[:length]


def _in_utc(value: Temporal) -> tuple[int, ...]:
    if value.tz in (None, 0) or len(value.full_parts) <= HOUR:
        return value.full_parts
    moment = _to_datetime(value.full_parts) - timedelta(minutes=value.tz or 0)
    return _from_datetime(moment, len(value.full_parts))


def _comparison_key(parts: tuple[int, ...]) -> list[int | Decimal]:
    """Components with seconds and milliseconds merged: they are one precision."""
    key: list[int | Decimal] = list(parts[:5])
    if len(parts) > 5:
        millis = parts[6] if len(parts) > 6 else 0
        key.append(Decimal(parts[5]) + Decimal(millis) / 1000)
    return key


def compare(left: Temporal, right: Temporal) -> int | None:
    """-1, 0 or 1, or None when the precisions differ and the answer is undetermined."""
    a_parts, b_parts = left.parts, right.parts
    seconds = 2 if left.kind == TIME else 5
    if (
        left.tz is None
        and right.tz is None
        and left.kind == right.kind
        and max(len(a_parts), len(b_parts)) <= seconds
    ):
        common = min(len(a_parts), len(b_parts))  # no offsets, no seconds: compare the parts
        if a_parts[:common] != b_parts[:common]:
            return -1 if a_parts[:common] < b_parts[:common] else 1
        return 0 if len(a_parts) == len(b_parts) else None
    both_zoned = left.tz is not None and right.tz is not None
    a = _comparison_key(_in_utc(left) if both_zoned else left.full_parts)
    b = _comparison_key(_in_utc(right) if both_zoned else right.full_parts)
    start = HOUR if left.kind == TIME else 0
    zone_mismatch = (left.tz is None) != (right.tz is None)
    for index in range(start, min(len(a), len(b))):
        if zone_mismatch and index >= HOUR:
            return None
        if a[index] != b[index]:
            return -1 if a[index] < b[index] else 1
    return 0 if len(a) == len(b) else None


def same_precision(left: Temporal, right: Temporal) -> bool:
    return len(_comparison_key(left.full_parts)) == len(_comparison_key(right.full_parts))


def add(value: Temporal, amount: int, unit: str) -> Temporal:
    """``value + amount unit`` for a calendar unit (``year`` ... ``millisecond``)."""
    parts = value.full_parts
    length = len(parts)
    if unit in ("year", "month"):
        months = amount * 12 if unit == "year" else amount
        year, month = divmod(parts[0] * 12 + (parts[1] if length > 1 else 1) - 1 + months, 12)
        month += 1
        new = [year, month, *parts[2:]]
        if length > 2:
            new[2] = min(new[2], calendar.monthrange(year, month)[1])
        return _rebuild(value, tuple(new[:length]))
    step = {
        "week": timedelta(weeks=1),
        "day": timedelta(days=1),
        "hour": timedelta(hours=1),
        "minute": timedelta(minutes=1),
        "second": timedelta(seconds=1),
        "millisecond": timedelta(milliseconds=1),
    }[unit]
    if value.kind == DATE and step < timedelta(days=1):
        amount, step = int(step * amount / timedelta(days=1)), timedelta(days=1)
    moment = _to_datetime(parts) + step * amount
    return _rebuild(value, _from_datetime(moment, length))


def _rebuild(value: Temporal, parts: tuple[int, ...]) -> Temporal:
    if value.kind == TIME:
        return Temporal(TIME, parts[HOUR:], value.tz)
    return Temporal(value.kind, parts, value.tz)


def boundary(value: Temporal, digits: int | None, *, high: bool) -> Temporal | None:
    """``lowBoundary``/``highBoundary`` of a Date, DateTime or Time at ``digits`` precision."""
    if value.kind == TIME:
        table = {2: 1, 4: 2, 6: 3, 9: 4}
        length = table.get(digits if digits is not None else 9)
        if length is None:
            return None
        filler = (23, 59, 59, 999) if high else (0, 0, 0, 0)
        parts = value.parts + filler[len(value.parts) : length]
        return Temporal(TIME, parts[:length])
    table = {4: 1, 6: 2, 8: 3, 10: 4, 12: 5, 14: 6, 17: 7}
    default = 8 if value.kind == DATE else 17
    length = table.get(digits if digits is not None else default)
    if length is None:
        return None
    filled = list(value.parts)
    low_fill = (0, 1, 1, 0, 0, 0, 0)
    high_fill = (0, 12, 0, 23, 59, 59, 999)
    for index in range(len(filled), length):
        filled.append(high_fill[index] if high else low_fill[index])
        if high and index == 2:
            filled[2] = calendar.monthrange(filled[0], filled[1])[1]
    tz = value.tz
    if length > HOUR and tz is None:
        tz = -12 * 60 if high else 14 * 60
    kind = DATE if length <= 3 else DATETIME
    return Temporal(kind, tuple(filled[:length]), tz if length > HOUR else None)


def now_local() -> Temporal:
    moment = datetime.now(UTC).astimezone()
    offset = moment.utcoffset() or timedelta(0)
    return Temporal(DATETIME, _from_datetime(moment, 7), int(offset.total_seconds() // 60))
