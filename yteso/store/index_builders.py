"""The write path's row builders: :mod:`index_values`' rules, appending rows to one list.

Same rows as the generators of :mod:`index_values` (the reference, used by the general
extraction path; ``tests/store/test_index_shortcuts.py`` compares the two over real data), but
without a generator, a ``_row`` call and a ``fold_text`` call layer per row: these run ~16
times per resource written, and those layers were half of their cost.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from yteso import native
from yteso.store.index_values import (
    _ADDRESS_PARTS,
    _NAME_PARTS,
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
from yteso.store.text_folding import (
    _CACHED_LENGTH,
    _MAX_CACHED,
    FOLDED,
    MAX_INDEXED_LENGTH,
    fold_text,
)
from yteso.store.ucum_units import canonical_quantity

Rows = list[IndexRow]
Builder = Callable[[str, list[Any], Rows], None]
_CUT: Final = MAX_INDEXED_LENGTH


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
_SPANS: Final[dict[str, tuple[str, str] | None]] = {}
_MAX_SPANS: Final = 16384


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
# ``format_instant`` do (the same arithmetic, on integer microseconds and day numbers) without
# the regex, datetime objects or the formatter: a new dateTime text costs ~21k instructions
# instead of ~36k with datetimes (~95k through the general path). Years 1 and 9999, where the
# general path clamps, are left to it.
_MONTH_DAYS: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_DAY_US: Final = 86_400_000_000


def _common_span(text: str) -> tuple[str, str] | None:
    """The row values of a date or a dateTime to the second; ``None`` for any other shape or an
    impossible value (the general path then decides, and says the same)."""
    size = len(text)
    if size == 10 and text.isascii() and text[4] == "-" and text[7] == "-":
        if not (text[:4].isdigit() and text[5:7].isdigit() and text[8:].isdigit()):
            return None
        day = _day_number(int(text[:4]), int(text[5:7]), int(text[8:]))
        return (
            None
            if day is None
            else (_instant_text(day * _DAY_US), _instant_text((day + 1) * _DAY_US))
        )
    if size < 19 or not text.isascii():
        return None
    if text[4] != "-" or text[7] != "-" or text[10] != "T" or text[13] != ":" or text[16] != ":":
        return None
    fields = (text[:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
    rest = text[19:]
    fraction = ""
    if rest[:1] == ".":
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        fraction, rest = rest[:end], rest[end:]
        if end == 1:
            return None
    for field in fields:
        if not field.isdigit():
            return None
    if not (rest in ("", "Z") or _is_offset(rest)):
        return None
    day = _day_number(int(fields[0]), int(fields[1]), int(fields[2]))
    hour, minute, second = int(fields[3]), int(fields[4]), int(fields[5])
    micro = int(float(fraction or 0) * 1_000_000)  # as datetime's microsecond argument was
    if day is None or hour > 23 or minute > 59 or second > 59 or micro > 999_999:
        return None
    seconds = hour * 3600 + minute * 60 + second
    if rest not in ("", "Z"):
        sign = 1 if rest[0] == "+" else -1
        seconds -= sign * (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60)
    start = day * _DAY_US + seconds * 1_000_000 + micro
    # the fraction's precision: timedelta(seconds=10 ** -(digits)), at least a microsecond
    digits_after = len(fraction) - 1
    step = 1_000_000 if not fraction else 10 ** (6 - digits_after) if digits_after <= 6 else 1
    return _instant_text(start), _instant_text(start + step)


def _day_number(year: int, month: int, day: int) -> int | None:
    """Days from 1970-01-01 to a valid date of years 2-9998 (proleptic Gregorian), else None."""
    if not (1 < year < 9999 and 1 <= month <= 12 and day >= 1):
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day > _MONTH_DAYS[month] + (1 if month == 2 and leap else 0):
        return None
    # H. Hinnant's days_from_civil: March-based years put the leap day last
    shifted = year - 1 if month <= 2 else year
    era = shifted // 400
    of_era = shifted - era * 400
    of_year = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    return era * 146_097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719_468


def _instant_text(micros: int) -> str:
    """``format_instant``'s text for microseconds since 1970-01-01 UTC (milliseconds kept,
    truncated)."""
    days, within = divmod(micros, _DAY_US)
    date = _DATES.get(days)
    if date is None:
        date = _date_text(days)
        if len(_DATES) >= 16384:
            _DATES.clear()
        _DATES[days] = date
    two = _TWO_DIGITS
    seconds = within // 1_000_000
    return (
        f"{date}T{two[seconds // 3600]}:{two[seconds // 60 % 60]}:{two[seconds % 60]}"
        f".{_THREE_DIGITS[within // 1000 % 1000]}Z"
    )


_DATES: Final[dict[int, str]] = {}  # day number -> its date text: a load's dates share their days


def _date_text(days: int) -> str:
    """``YYYY-MM-DD`` of a day number: civil_from_days, the inverse of :func:`_day_number`."""
    shifted = days + 719_468
    era = shifted // 146_097
    of_era = shifted - era * 146_097
    year_of_era = (of_era - of_era // 1460 + of_era // 36_524 - of_era // 146_096) // 365
    of_year = of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    march_month = (5 * of_year + 2) // 153
    day = of_year - (153 * march_month + 2) // 5 + 1
    month = march_month + 3 if march_month < 10 else march_month - 9
    year = str(year_of_era + era * 400 + (1 if month <= 2 else 0)).zfill(4)
    return f"{year}-{_TWO_DIGITS[month]}-{_TWO_DIGITS[day]}"


def _is_offset(zone: str) -> bool:
    return (
        len(zone) == 6
        and zone[0] in "+-"
        and zone[1:3].isdigit()
        and zone[3] == ":"
        and zone[4:].isdigit()
    )


_TWO_DIGITS: Final = [f"{n:02d}" for n in range(100)]
_THREE_DIGITS: Final = [f"{n:03d}" for n in range(1000)]


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


_LOWEST_TEXT: Final = format_instant(LOWEST)
_HIGHEST_TEXT: Final = format_instant(HIGHEST)


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
_QUANTITIES: Final[dict[tuple[type, Any, Any, Any], tuple[Any, ...]]] = {}
_MAX_QUANTITIES: Final = 16384
_KEYED: Final = (int, float, str)


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


_TEXT: Final = (str, type(None))

# (system, code) -> (canonical unit, its factor as a power of ten or None): for the C twin of
# quantity_rows, which scales a new value's decimal text by that power (the exact product
# Decimal gives) and leaves any other factor to quantity_rows.
_UNIT_SCALES: Final[dict[tuple[str | None, str | None], tuple[str, int | None]]] = {}
_ONE: Final = Decimal(1)


def _unit_scale(system: str | None, code: str | None) -> tuple[str, int | None]:
    """:func:`canonical_quantity`'s unit for ``(system, code)`` and ``k`` when its factor is
    ``10 ** k`` (``None`` for any other factor)."""
    canonical, factor = canonical_quantity(_ONE, system, code)
    sign, digits, exponent = factor.normalize().as_tuple()
    if sign == 0 and digits == (1,) and isinstance(exponent, int):
        return canonical, exponent
    return canonical, None


# Reference text -> (type, id): a patient's resources all name it (and its encounter), and
# ``patient``/``subject`` read the same reference twice (the ``resolve() is`` filter, the row).
_TARGETS: Final[dict[str, tuple[str | None, str | None]]] = {}
_MAX_TARGETS: Final = 16384


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

# The C twins of token_rows, date_rows, reference_rows, string_rows and quantity_rows
# (yteso/store/_builders.c; docs/dev/native.md, "C extensions"): the same rows, handing
# back to the functions above whatever they do not handle. None (YTESO_PURE=1, a stale or
# absent build): the Python builders run.
C_BUILDERS: Final = native.c_extension("yteso.store._builders")
if C_BUILDERS is not None:
    C_BUILDERS.bind_values(
        string_rows,
        quantity_rows,
        _unit_scale,
        _QUANTITIES,
        _UNIT_SCALES,
        _MAX_QUANTITIES,
        _NAME_PARTS,
        _ADDRESS_PARTS,
        _CACHED_LENGTH,
        _MAX_CACHED,
    )
    C_BUILDERS.bind(
        token_rows,
        date_rows,
        reference_rows,
        _string_span,
        target_of,
        _SPANS,
        _TARGETS,
        FOLDED,
        fold_text,
        _LOWEST_TEXT,
        _HIGHEST_TEXT,
        _MAX_SPANS,
        _MAX_TARGETS,
        _CUT,
    )
    BUILDERS["token"] = C_BUILDERS.token_rows
    BUILDERS["date"] = C_BUILDERS.date_rows
    BUILDERS["reference"] = C_BUILDERS.reference_rows
    BUILDERS["string"] = C_BUILDERS.string_rows
    BUILDERS["quantity"] = C_BUILDERS.quantity_rows
