"""Turn the values a search parameter's FHIRPath expression yields into index rows, per type.

https://hl7.org/fhir/R4/search.html#ptypes — which datatypes each search parameter type
indexes, and how: HumanName/Address parts as strings, Coding/CodeableConcept/Identifier/
ContactPoint/code/boolean as tokens, date/dateTime/instant/Period/Timing as ranges, and so on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.store.date_ranges import parse_date_range
from yteso.store.instants import format_instant
from yteso.store.text_folding import MAX_INDEXED_LENGTH, fold_text
from yteso.store.ucum_units import canonical_quantity

LOWEST: Final = datetime(1, 1, 1, tzinfo=UTC)
HIGHEST: Final = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
_NAME_PARTS: Final = ("text", "family", "given", "prefix", "suffix")
_ADDRESS_PARTS: Final = ("text", "line", "city", "district", "state", "postalCode", "country")


IndexValue = str | int | float | None


# One extracted search value: ``(table, param, values)``; ``table`` names the index table
# (``token``, ``date``...). A plain tuple, not a NamedTuple: built about 16 times per resource
# written, and the bulk loader's workers pickle them to the writer, where a NamedTuple costs a
# Python-level constructor call per row (dumps + loads 83 -> 21 µs per resource).
IndexRow = tuple[str, str, tuple[IndexValue, ...]]


def _row(table: str, param: str, *values: IndexValue) -> IndexRow:
    return (table, param, values)


def _strings_of(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _strings_of(item, out)
    elif isinstance(value, dict):
        # typed as any length: mypyc would otherwise check for a 5- or 7-tuple at run time
        parts: tuple[str, ...] = (
            _NAME_PARTS if "family" in value or "given" in value else _ADDRESS_PARTS
        )
        if not any(key in value for key in parts):
            parts = tuple(k for k in value if k not in ("extension", "id", "system", "use"))
        for key in parts:
            _strings_of(value.get(key), out)


def string_values(param: str, found: list[Any]) -> Iterator[IndexRow]:
    strings: list[str] = []
    for value in found:
        _strings_of(value, strings)
    for text in dict.fromkeys(strings):
        yield _row("string", param, fold_text(text)[:MAX_INDEXED_LENGTH], text[:MAX_INDEXED_LENGTH])


def _display(value: Any) -> str | None:
    return fold_text(value)[:MAX_INDEXED_LENGTH] if isinstance(value, str) else None


def _coding_rows(param: str, coding: Any, text: str | None) -> Iterator[IndexRow]:
    if isinstance(coding, dict) and isinstance(coding.get("code"), str):
        display = text or _display(coding.get("display"))
        yield _row("token", param, coding.get("system"), coding["code"], display)


def _identifier_rows(param: str, value: Json) -> Iterator[IndexRow]:
    text = _display((value.get("type") or {}).get("text"))
    yield _row("token", param, value.get("system"), value["value"], text)
    for coding in (value.get("type") or {}).get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            code = f"{coding['code']}|{value['value']}"
            yield _row("token", f"{param}:of-type", coding.get("system"), code, None)


def _is_identifier(value: Json) -> bool:
    """Identifier (system is a URI) rather than ContactPoint (system is phone, email...)."""
    system = value.get("system")
    return "type" in value or "assigner" in value or (isinstance(system, str) and ":" in system)


def token_values(param: str, found: list[Any]) -> Iterator[IndexRow]:
    for value in found:
        if isinstance(value, bool):
            yield _row("token", param, None, "true" if value else "false", None)
        elif isinstance(value, str):
            yield _row("token", param, None, value[:MAX_INDEXED_LENGTH], None)
        elif not isinstance(value, dict):
            continue
        elif "coding" in value or ("text" in value and "code" not in value):
            text = _display(value.get("text"))
            codings = value.get("coding")
            for coding in codings or []:
                # inlined _coding_rows (the commonest shape): one display fold per coding
                display = text or _display(coding.get("display"))
                code = coding.get("code")
                if type(code) is str or isinstance(code, str):
                    yield ("token", param, (coding.get("system"), code, display))
            if text and not codings:
                yield _row("token", param, None, None, text)
        elif "code" in value:
            yield from _coding_rows(param, value, None)
        elif isinstance(value.get("value"), str) and _is_identifier(value):
            yield from _identifier_rows(param, value)
        elif isinstance(value.get("value"), str):  # ContactPoint: its value, system ignored
            yield _row("token", param, None, value["value"], None)


def _range_of(text: object) -> tuple[datetime, datetime] | None:
    if not isinstance(text, str) or len(text) < 4:
        return None
    try:
        span = parse_date_range(text)
    except (Invalid, ValueError, OverflowError):
        return None
    return span.start, span.end


def _date_span(value: Any) -> tuple[datetime, datetime] | None:
    if isinstance(value, str):
        return _range_of(value)
    if not isinstance(value, dict):
        return None
    if "start" in value or "end" in value:  # Period: an open end is unbounded
        start, end = _range_of(value.get("start")), _range_of(value.get("end"))
        return (start[0] if start else LOWEST), (end[1] if end else HIGHEST)
    spans = [s for s in map(_range_of, value.get("event") or []) if s is not None]
    bounds = (value.get("repeat") or {}).get("boundsPeriod")
    if isinstance(bounds, dict):
        found = _date_span(bounds)
        if found is not None:
            spans.append(found)
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def date_values(param: str, found: list[Any]) -> Iterator[IndexRow]:
    for value in found:
        span = _date_span(value)
        if span is not None:
            low, high = max(span[0], LOWEST), min(span[1], HIGHEST)
            yield _row("date", param, format_instant(low), format_instant(high))


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def number_values(param: str, found: list[Any]) -> Iterator[IndexRow]:
    for value in found:
        number = _decimal(value)
        if number is not None:
            yield _row("number", param, float(number))


def quantity_values(param: str, found: list[Any]) -> Iterator[IndexRow]:
    for value in found:
        if not isinstance(value, dict):
            continue
        number = _decimal(value.get("value"))
        if number is None:
            continue
        system, code = value.get("system"), value.get("code") or value.get("unit")
        canonical, scaled = canonical_quantity(number, system, code)
        yield _row("quantity", param, system, code, float(number), canonical, float(scaled))


def split_reference(reference: str) -> tuple[str | None, str | None]:
    """``Type/id``, ``Type/id/_history/n`` or an absolute URL ending so: ``(type, id)``."""
    parts = reference.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2][:1].isupper() and parts[-1]:
        return parts[-2], parts[-1]
    return None, None


def reference_values(param: str, found: list[Any]) -> Iterator[IndexRow]:
    for value in found:
        if isinstance(value, str):  # canonical / uri
            yield _row("reference", param, None, None, value[:MAX_INDEXED_LENGTH])
            continue
        if not isinstance(value, dict):
            continue
        reference = value.get("reference")
        if isinstance(reference, str) and not reference.startswith("#"):
            target_type, target_id = split_reference(reference)
            yield _row("reference", param, target_type, target_id, reference[:MAX_INDEXED_LENGTH])
        identifier = value.get("identifier")
        if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
            system, code = identifier.get("system"), identifier["value"]
            yield _row("token", f"{param}:identifier", system, code, None)


def uri_values(param: str, found: list[Any]) -> Iterator[IndexRow]:
    for value in found:
        if isinstance(value, str):
            yield _row("uri", param, value[:MAX_INDEXED_LENGTH])
