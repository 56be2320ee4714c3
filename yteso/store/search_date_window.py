"""Date overlap searches as index ranges bounded on both ends (issue 4).

https://hl7.org/fhir/R4/search.html#date. ``date=geX&date=ltY`` (and ``ap``) test a stored range
``[low, high)`` for ``high > X AND low < Y``; a B-tree on ``low`` bounds only the upper end, so
the scan read every row before ``Y``. Migration 0007 gives each ``search_date`` row a generated
``width_class``: its span, in days of a calendar with 31-day months (never fewer than the real
days), bucketed by :data:`WIDTH_BOUNDS`. A row of a class with bound ``B`` spans less than
``B + 1`` real days, so ``high > X`` implies ``low > X - (B + 1) days``: the search is one range
scan of ``(resource_type, param, width_class, low)`` per class, each bounded on both ends. The
last class (wider rows, open ends) keeps the one-sided test; it is rare. The added bound is
implied by the original test, so the rows found are the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from yteso.store.date_ranges import parse_date_range
from yteso.store.instants import format_instant
from yteso.store.search_values import split_prefix

# Upper bounds of the classes, in 31-day-month days; must equal 0007_search_windows.sql.
WIDTH_BOUNDS = (0, 1, 4, 8, 32, 100, 400, 4000)
UNBOUNDED_CLASS = len(WIDTH_BOUNDS)
# Prefixes whose test includes ``high > start`` (ge) / ``high > end`` (gt), and those that
# bound ``low`` from above: together they make an overlap test.
_HIGH_ABOVE = ("ge", "gt", "ap")
_LOW_BELOW = ("lt", "le", "ap")


def window_start(values: list[str], now: datetime, code: str) -> datetime | None:
    """``X`` of ``high > X`` when the single-valued date searches ``values`` (ANDed) form an
    overlap test; None when they do not (the plain test is already bounded, or one-sided)."""
    prefixes = [split_prefix(value)[0] for value in values]
    if not any(p in _LOW_BELOW for p in prefixes):
        return None
    starts = []
    for value, prefix in zip(values, prefixes, strict=True):
        if prefix not in _HIGH_ABOVE:
            continue
        span = parse_date_range(split_prefix(value)[1], expression=code)
        if prefix == "ge":
            starts.append(span.start)
        elif prefix == "gt":
            starts.append(span.end)
        else:  # ap: the range widened by 10% of its distance from now
            starts.append(span.start - abs(now - span.start) * 0.1)
    return max(starts) if starts else None


def class_floors(start: datetime) -> list[tuple[int, str | None]]:
    """Per width class, the lowest ``low`` a row overlapping ``(start, ...)`` can have; None
    for the unbounded class (and where the floor would fall before year 1)."""
    floors: list[tuple[int, str | None]] = []
    for width_class, bound in enumerate(WIDTH_BOUNDS):
        try:
            floors.append((width_class, format_instant(start - timedelta(days=bound + 1))))
        except OverflowError:
            floors.append((width_class, None))
    floors.append((UNBOUNDED_CLASS, None))
    return floors
