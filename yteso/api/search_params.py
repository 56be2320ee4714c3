"""Parse a search's query string into a :class:`SearchQuery` and the result controls.

https://hl7.org/fhir/R4/search.html — parameters the server does not support are ignored and
reported (https://hl7.org/fhir/R4/search.html#errors), or rejected under
``Prefer: handling=strict``. Malformed values are a 400 naming the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yteso.api.routing import ID_PATTERN
from yteso.fhir.errors import Invalid
from yteso.fhir.summary import SUMMARY_MODES
from yteso.store.base import SearchParam, SearchQuery

MAX_COUNT = 1000
# Result controls and formatting parameters: never search criteria.
CONTROLS = frozenset(
    {"_count", "_sort", "_total", "_summary", "_elements", "_format", "_pretty", "_type", "_cursor"}
)
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
DATE_VALUE = re.compile(
    r"-?[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3])(:[0-5][0-9](:([0-5][0-9]|60)(\.[0-9]+)?)?)?"
    r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?)?)?)?"
)
TOTALS = frozenset({"none", "estimate", "accurate"})


@dataclass(frozen=True)
class ParsedSearch:
    query: SearchQuery
    summary: str | None = None
    elements: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()  # parameters ignored (reported in an OperationOutcome)
    types: tuple[str, ...] = ()  # ``_type`` of a system search


def _check_value(name: str, value: str) -> None:
    if name == "_id" and not ID_PATTERN.fullmatch(value):
        raise Invalid(f"_id: {value!r} is not a valid id", expression="_id")
    if name == "_lastUpdated":
        text = value[2:] if value[:2] in DATE_PREFIXES else value
        if not DATE_VALUE.fullmatch(text):
            raise Invalid(f"_lastUpdated: {value!r} is not a date, dateTime or instant")


def _count(value: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise Invalid(f"_count: {value!r} is not a non-negative integer", expression="_count")
    return min(int(value), MAX_COUNT)


def _sort(value: str) -> tuple[str, ...]:
    """Sort keys; the store rejects a key that is not an indexed parameter of the type."""
    return tuple(key.strip() for key in value.split(",") if key.strip())


def _query(criteria: list[SearchParam], controls: dict[str, str]) -> SearchQuery:
    total = controls.get("_total")
    if total is not None and total not in TOTALS:
        raise Invalid(f"_total: {total!r} is not one of none, estimate, accurate")
    return SearchQuery(
        params=tuple(criteria),
        count=_count(controls["_count"]) if "_count" in controls else None,
        cursor=controls.get("_cursor"),
        total=total,
        sort=_sort(controls["_sort"]) if "_sort" in controls else (),
    )


def _summary(controls: dict[str, str]) -> str | None:
    summary = controls.get("_summary")
    if summary is not None and summary not in SUMMARY_MODES:
        raise Invalid(f"_summary: {summary!r} is not one of {', '.join(SUMMARY_MODES)}")
    return summary


def requested_types(params: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The types of a system search's ``_type`` (comma-separated, the last ``_type`` wins as
    for every control), without repeats."""
    value = next((v for name, v in reversed(params) if name == "_type"), "")
    return tuple(dict.fromkeys(t.strip() for t in value.split(",") if t.strip()))


def parse_search(
    params: tuple[tuple[str, str], ...],
    supported: frozenset[str],
    *,
    strict: bool = False,
) -> ParsedSearch:
    """Split ``params`` into criteria the store supports, controls, and unknown names."""
    criteria: list[SearchParam] = []
    unknown: list[str] = []
    controls: dict[str, str] = {}
    for raw_name, value in params:
        name, _, modifier = raw_name.partition(":")
        if name in CONTROLS:
            controls[name] = value
        elif name.partition(".")[0] in supported:  # a chain is checked by its first link
            values = tuple(value.split(","))
            for item in values:
                _check_value(name, item)
            criteria.append(SearchParam(name, values, modifier or None))
        else:
            unknown.append(raw_name)
    if unknown and strict:
        raise Invalid(f"Unknown or unsupported search parameter(s): {', '.join(unknown)}")
    elements = tuple(e.strip() for e in controls.get("_elements", "").split(",") if e.strip())
    types = requested_types(tuple(controls.items()))
    query = _query(criteria, controls)
    return ParsedSearch(query, _summary(controls), elements, tuple(unknown), types)


__all__ = ["CONTROLS", "MAX_COUNT", "ParsedSearch", "parse_search", "requested_types"]
