"""The write path's row builders: :mod:`index_values`' rules, appending rows to one list.

Same rows as the generators of :mod:`index_values` (the reference, used by the general
extraction path; ``tests/store/test_index_shortcuts.py`` compares the two over real data), but
without a generator, a ``_row`` call and a ``fold_text`` call layer per row: these run ~16
times per resource written, and those layers were half of their cost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from yteso.store.index_values import (
    HIGHEST,
    LOWEST,
    IndexRow,
    _date_span,
    _decimal,
    _identifier_rows,
    _is_identifier,
    _strings_of,
    split_reference,
)
from yteso.store.instants import format_instant
from yteso.store.text_folding import FOLDED, MAX_INDEXED_LENGTH, fold_text
from yteso.store.ucum_units import canonical_quantity

Rows = list[IndexRow]
Builder = Callable[[str, list[Any], Rows], None]
_CUT = MAX_INDEXED_LENGTH


def string_rows(param: str, found: list[Any], out: Rows) -> None:
    strings: list[str] = []
    for value in found:
        if type(value) is str:
            strings.append(value)
        else:
            _strings_of(value, strings)
    folded = FOLDED.get
    for text in dict.fromkeys(strings) if len(strings) > 1 else strings:
        fold = folded(text)
        if fold is None:
            fold = fold_text(text)
        out.append(("string", param, (fold[:_CUT], text[:_CUT])))


def _display(value: Any) -> str | None:
    if type(value) is not str and not isinstance(value, str):
        return None
    fold = FOLDED.get(value)
    return (fold if fold is not None else fold_text(value))[:_CUT]


def token_rows(param: str, found: list[Any], out: Rows) -> None:
    for value in found:
        kind = type(value)
        if kind is bool:
            out.append(("token", param, (None, "true" if value else "false", None)))
        elif kind is str or isinstance(value, str):
            out.append(("token", param, (None, value[:_CUT], None)))
        elif kind is not dict and not isinstance(value, dict):
            continue
        elif "coding" in value or ("text" in value and "code" not in value):
            text = _display(value.get("text"))
            codings = value.get("coding")
            for coding in codings or []:
                display = text or _display(coding.get("display"))
                code = coding.get("code")
                if type(code) is str or isinstance(code, str):
                    out.append(("token", param, (coding.get("system"), code, display)))
            if text and not codings:
                out.append(("token", param, (None, None, text)))
        elif "code" in value:
            code = value.get("code")
            if type(code) is str or isinstance(code, str):
                display = _display(value.get("display"))
                out.append(("token", param, (value.get("system"), code, display)))
        else:
            identifier = value.get("value")
            if type(identifier) is not str and not isinstance(identifier, str):
                continue
            if _is_identifier(value):
                out.extend(_identifier_rows(param, value))
            else:  # ContactPoint: its value, system ignored
                out.append(("token", param, (None, identifier, None)))


# Date text -> its (low, high) row values: birth dates, days and instants repeat across
# resources, and parsing plus formatting is most of this builder's cost.
_SPANS: dict[str, tuple[str, str] | None] = {}
_MAX_SPANS = 16384


def _string_span(text: str) -> tuple[str, str] | None:
    if text in _SPANS:
        return _SPANS[text]
    values = _common_span(text)
    if values is None:
        span = _date_span(text)
        if span is not None:
            values = format_instant(max(span[0], LOWEST)), format_instant(min(span[1], HIGHEST))
    if len(_SPANS) >= _MAX_SPANS:
        _SPANS.clear()
    _SPANS[text] = values
    return values


# The shapes nearly every stored date has: ``2021-11-21`` and ``2021-11-21T09:37:00`` with an
# optional fraction and zone. For these, :func:`_common_span` does what ``parse_date_range`` and
# ``format_instant`` do (same arithmetic) without the regex, its match groups and the
# interpreted, cached formatter: a new date text costs ~32k instructions instead of ~95k.
_SEPARATORS = ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"))
_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


def _common_span(text: str) -> tuple[str, str] | None:
    """The row values of a date or a dateTime to the second; ``None`` for any other shape or an
    impossible value (the general path then decides, and says the same)."""
    size = len(text)
    if size == 10 and text.isascii() and text[4] == "-" and text[7] == "-":
        if not (text[:4].isdigit() and text[5:7].isdigit() and text[8:].isdigit()):
            return None
        try:
            day = datetime(int(text[:4]), int(text[5:7]), int(text[8:]), tzinfo=UTC)
            return _instant_text(day), _instant_text(min(day + _DAY, HIGHEST))
        except (ValueError, OverflowError):
            return None
    if size < 19 or not text.isascii():
        return None
    for at, separator in _SEPARATORS:
        if text[at] != separator:
            return None
    digits = text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    rest = text[19:]
    fraction = ""
    if rest[:1] == ".":
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        fraction, rest = rest[:end], rest[end:]
        if end == 1:
            return None
    if not digits.isdigit() or not (rest in ("", "Z") or _is_offset(rest)):
        return None
    try:
        start = datetime(
            int(digits[:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            int(digits[10:12]),
            int(digits[12:14]),
            int(float(fraction or 0) * 1_000_000),
            tzinfo=UTC,
        )
        if rest not in ("", "Z"):
            sign = 1 if rest[0] == "+" else -1
            start -= sign * timedelta(hours=int(rest[1:3]), minutes=int(rest[4:6]))
        step = (
            timedelta(seconds=10 ** -(len(fraction) - 1)) or timedelta(microseconds=1)
            if fraction
            else _SECOND
        )
        return _instant_text(start), _instant_text(min(start + step, HIGHEST))
    except (ValueError, OverflowError):
        return None


def _is_offset(zone: str) -> bool:
    return (
        len(zone) == 6
        and zone[0] in "+-"
        and zone[1:3].isdigit()
        and zone[3] == ":"
        and zone[4:].isdigit()
    )


_TWO_DIGITS = [f"{n:02d}" for n in range(100)]
_THREE_DIGITS = [f"{n:03d}" for n in range(1000)]


def _instant_text(moment: datetime) -> str:
    """``format_instant``'s text for a UTC datetime (``isoformat`` with its keyword
    argument cost ~10k instructions a call)."""
    year = str(moment.year)
    if len(year) < 4:
        year = year.zfill(4)
    two = _TWO_DIGITS
    return (
        f"{year}-{two[moment.month]}-{two[moment.day]}T{two[moment.hour]}:{two[moment.minute]}"
        f":{two[moment.second]}.{_THREE_DIGITS[moment.microsecond // 1000]}Z"
    )


def date_rows(param: str, found: list[Any], out: Rows) -> None:
    for value in found:
        if type(value) is str:
            values = _string_span(value)
            if values is not None:
                out.append(("date", param, values))
            continue
        if type(value) is dict and ("start" in value or "end" in value):
            out.append(("date", param, _period_span(value)))
            continue
        span = _date_span(value)
        if span is not None:
            low, high = max(span[0], LOWEST), min(span[1], HIGHEST)
            out.append(("date", param, (format_instant(low), format_instant(high))))


_LOWEST_TEXT = format_instant(LOWEST)
_HIGHEST_TEXT = format_instant(HIGHEST)


def _period_span(period: dict[str, Any]) -> tuple[str, str]:
    """``_date_span``'s Period rule on the cached texts: an open or unreadable end is
    unbounded, and each end's bound is the one its own text gives."""
    start, end = period.get("start"), period.get("end")
    low = _string_span(start) if isinstance(start, str) else None
    high = _string_span(end) if isinstance(end, str) else None
    return (low[0] if low else _LOWEST_TEXT), (high[1] if high else _HIGHEST_TEXT)


def number_rows(param: str, found: list[Any], out: Rows) -> None:
    for value in found:
        number = _decimal(value)
        if number is not None:
            out.append(("number", param, (float(number),)))


# (value type, value, system, code) -> row values: an Observation's value is indexed twice
# (``value-quantity`` and the ``code-value-quantity`` component), each time parsed as a
# Decimal and converted to canonical units. Keyed by the value's type (``True == 1``).
_QUANTITIES: dict[tuple[type, Any, Any, Any], tuple[Any, ...]] = {}
_MAX_QUANTITIES = 16384
_KEYED = (int, float, str)


def quantity_rows(param: str, found: list[Any], out: Rows) -> None:
    for value in found:
        if not isinstance(value, dict):
            continue
        raw, system = value.get("value"), value.get("system")
        code = value.get("code") or value.get("unit")
        key = None
        if type(raw) in _KEYED and type(system) in _TEXT and type(code) in _TEXT:
            key = (type(raw), raw, system, code)
            values = _QUANTITIES.get(key)
            if values is not None:
                out.append(("quantity", param, values))
                continue
        number = _decimal(raw)
        if number is None:
            continue
        canonical, scaled = canonical_quantity(number, system, code)
        values = (system, code, float(number), canonical, float(scaled))
        if key is not None:
            if len(_QUANTITIES) >= _MAX_QUANTITIES:
                _QUANTITIES.clear()
            _QUANTITIES[key] = values
        out.append(("quantity", param, values))


_TEXT = (str, type(None))


# Reference text -> (type, id): a patient's resources all name it (and its encounter), and
# ``patient``/``subject`` read the same reference twice (the ``resolve() is`` filter, the row).
_TARGETS: dict[str, tuple[str | None, str | None]] = {}
_MAX_TARGETS = 16384


def target_of(reference: str) -> tuple[str | None, str | None]:
    """:func:`split_reference`, cached."""
    found = _TARGETS.get(reference)
    if found is None:
        found = split_reference(reference)
        if len(_TARGETS) >= _MAX_TARGETS:
            _TARGETS.clear()
        _TARGETS[reference] = found
    return found


def of_type(found: list[Any], target: str) -> list[Any]:
    """The references among ``found`` whose text names a ``target`` resource."""
    kept = []
    for value in found:
        reference = value.get("reference") if isinstance(value, dict) else None
        if isinstance(reference, str) and target_of(reference)[0] == target:
            kept.append(value)
    return kept


def reference_rows(param: str, found: list[Any], out: Rows) -> None:
    for value in found:
        if type(value) is dict:
            reference = value.get("reference")
            if isinstance(reference, str) and not reference.startswith("#"):
                target_type, target_id = target_of(reference)
                out.append(("reference", param, (target_type, target_id, reference[:_CUT])))
            identifier = value.get("identifier")
            if identifier is not None:
                _reference_identifier(param, identifier, out)
        elif isinstance(value, str):  # canonical / uri
            out.append(("reference", param, (None, None, value[:_CUT])))
        elif isinstance(value, dict):  # a dict subclass: not from the JSON parser
            reference_rows(param, [dict(value)], out)


def reference_identifier_rows(param: str, found: list[Any], out: Rows) -> None:
    """Only the ``:identifier`` token rows of :func:`reference_rows`: for a parameter whose
    reference rows another parameter holds (:mod:`shared_rows`)."""
    for value in found:
        identifier = value.get("identifier") if isinstance(value, dict) else None
        if identifier is not None:
            _reference_identifier(param, identifier, out)


def _reference_identifier(param: str, identifier: Any, out: Rows) -> None:
    if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
        code = identifier["value"]
        out.append(("token", f"{param}:identifier", (identifier.get("system"), code, None)))


def uri_rows(param: str, found: list[Any], out: Rows) -> None:
    for value in found:
        if isinstance(value, str):
            out.append(("uri", param, (value[:_CUT],)))


BUILDERS: dict[str, Builder] = {
    "string": string_rows,
    "token": token_rows,
    "date": date_rows,
    "number": number_rows,
    "quantity": quantity_rows,
    "reference": reference_rows,
    "uri": uri_rows,
}
