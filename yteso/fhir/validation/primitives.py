"""Checks of FHIR primitive values in their JSON form.

https://hl7.org/fhir/R4/datatypes.html#primitive and https://hl7.org/fhir/R4/json.html#primitive
Each checker takes the parsed JSON value and returns (issue code, message), or None when valid.
Regexes come from the generated definitions (the spec's own), compiled once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from yteso.fhir.definitions import type_definition

#: (issue code, message) for an invalid value: ``structure`` for a wrong JSON type, else ``value``.
Problem = tuple[str, str]
PrimitiveCheck = Callable[[object], "Problem | None"]
Matcher = Callable[[str], "re.Match[str] | None"]

MAX_STRING_LENGTH: Final = 1024 * 1024  # https://hl7.org/fhir/R4/datatypes.html#string
_REMEMBERED_LENGTH: Final = 100
_REMEMBERED_VALUES: Final = 20_000  # per primitive type
INTEGER_MIN: Final = -(2**31)
INTEGER_MAX: Final = 2**31 - 1
# R4's published base64Binary regex forgets "/"; this is RFC 4648 with optional whitespace.
_BASE64 = re.compile(r"[A-Za-z0-9+/\s]*(={0,2})\s*")
_BASE64_CHARS = re.compile(r"[^A-Za-z0-9+/=\s]")
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_DAYS_IN_MONTH: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_NUMBER_TYPES: Final = frozenset({"decimal", "integer", "positiveInt", "unsignedInt"})
_XHTML_NAMESPACE: Final = 'xmlns="http://www.w3.org/1999/xhtml"'
# Narrative is restricted to basic HTML and has content: https://hl7.org/fhir/R4/narrative.html#xhtml
# (txt-1/txt-2, which the invariant checker leaves to this check)
_XHTML_FORBIDDEN_TAG: Final = re.compile(
    r"<\s*(script|iframe|object|embed|applet|form|input|button|style|link|meta|base|frame)\b",
    re.IGNORECASE,
)
_XHTML_EVENT_ATTRIBUTE: Final = re.compile(r"<[^>]*\s(on[a-z]+)\s*=", re.IGNORECASE)
_XHTML_ENTITY: Final = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES: Final = frozenset({"lt", "gt", "amp", "quot", "apos"})
_XHTML_TEXT: Final = re.compile(r">\s*[^<\s]")  # some character content after a tag
_XHTML_IMAGE: Final = re.compile(r"<img\b", re.IGNORECASE)

# Checks whose verdict the structure walk's C twin (``_structure.c``) gives by itself: each
# kind names exactly what the check below accepts. Registered where the check is made, so a
# check that changes its rule without changing its kind is visible in one place.
TEXT_KIND: Final = 1  # non-empty str without \v or \f, at most MAX_STRING_LENGTH (_text_check)
ID_KIND: Final = 2  # id_shaped (_id_check)
BOOLEAN_KIND: Final = 3  # bool (_check_boolean)
DECIMAL_KIND: Final = 4  # int or float (_number_check("decimal")); a Decimal is not claimed
INTEGER_KIND: Final = 5  # int in [INTEGER_MIN, INTEGER_MAX]
POSITIVE_KIND: Final = 6  # int in [1, INTEGER_MAX]
UNSIGNED_KIND: Final = 7  # int in [0, INTEGER_MAX]
URI_KIND: Final = 8  # R4's \S* (uri, url): non-empty, no ASCII whitespace, at most 1 MB
CODE_KIND: Final = 9  # R4's code regex: single ASCII whitespace between non-whitespace runs
# date, dateTime, instant: valid where _calendar_shaped and _valid_calendar_day say so (at
# most 1 MB); anything else is the check's own to judge (the twin calls it)
DATE_KIND: Final = 10
DATE_TIME_KIND: Final = 11
INSTANT_KIND: Final = 12
_URI_REGEX: Final = r"\S*"
_CODE_REGEX: Final = r"[^\s]+(\s[^\s]+)*"
_SIMPLE_KINDS: Final[dict[object, int]] = {}


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _valid_calendar_day(text: str) -> bool:
    """Regexes allow 2023-02-30; the spec says dates SHALL be valid dates."""
    if len(text) < 10 or text[8:10] <= "28":  # every month has days 01-28 (~1k instructions)
        return True
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    if month == 2 and day == 29:
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= _DAYS_IN_MONTH[month - 1]


# R4's string and markdown regex. Under re.ASCII, \S is every character but the six ASCII
# whitespace ones, so with space, CR, LF and tab added back it excludes only \v and \f.
_ANY_TEXT: Final = r"[ \r\n\t\S]+"
_ID: Final = r"[A-Za-z0-9\-\.]{1,64}"


def id_shaped(text: str) -> bool:
    """Whether ``text`` matches R4's id regex ``[A-Za-z0-9\\-\\.]{1,64}``, by string methods (the
    regex was ~1k instructions a call, on nearly every id and reference of a bulk load, each
    new): once ``-`` and ``.`` are replaced by a letter, an ASCII text is all letters and digits
    exactly when ``isalnum`` says so."""
    return (
        0 < len(text) <= 64
        and text.isascii()
        and text.replace("-", "a").replace(".", "a").isalnum()
    )


# Calendar types whose common shapes :func:`_calendar_shaped` tells without the regex.
_DATE_ONLY: Final = 1
_DATE_TIME: Final = 2
_INSTANT: Final = 3
_CALENDAR_KINDS: Final = {"date": _DATE_ONLY, "dateTime": _DATE_TIME, "instant": _INSTANT}
_SIMPLE_CALENDAR_KINDS: Final = {
    _DATE_ONLY: DATE_KIND,
    _DATE_TIME: DATE_TIME_KIND,
    _INSTANT: INSTANT_KIND,
}


def _calendar_shaped(text: str, kind: int) -> bool:
    """True only when R4's regex of the kind (date, dateTime, instant) matches ``text``: a day
    ``YYYY-MM-DD``, or a day and a time to the second with an optional fraction and a zone. The
    regex was ~2k instructions a call, on nearly every new date of a bulk load. ``False`` says
    nothing (a year or a month alone, an odd text): the regex decides then. Two-digit fields are
    compared as text, which orders ASCII digits as numbers."""
    size = len(text)
    if size < 10 or not text.isascii() or text[4] != "-" or text[7] != "-":
        return False
    year, month, day = text[:4], text[5:7], text[8:10]
    if not (year.isdigit() and month.isdigit() and day.isdigit()) or year == "0000":
        return False  # the year regex takes any four digits but 0000
    if not ("01" <= month <= "12" and "01" <= day <= "31"):
        return False
    if size == 10:
        return kind != _INSTANT
    if kind == _DATE_ONLY or size < 20 or text[10] != "T" or text[13] != ":" or text[16] != ":":
        return False
    hour, minute, second = text[11:13], text[14:16], text[17:19]
    if not (hour.isdigit() and minute.isdigit() and second.isdigit()):
        return False
    if hour > "23" or minute > "59" or second > "60":
        return False
    rest = text[19:]
    if rest[-1] == "Z":
        fraction = rest[:-1]
    else:
        zone, fraction = rest[-6:], rest[:-6]
        if len(zone) != 6 or zone[0] not in "+-" or zone[3] != ":":
            return False
        hours, minutes = zone[1:3], zone[4:]
        if not (hours.isdigit() and minutes.isdigit()):
            return False
        if not ((hours <= "13" and minutes <= "59") or (hours == "14" and minutes == "00")):
            return False
    return not fraction or (fraction[0] == "." and fraction[1:].isdigit())


def _string_check(type_name: str) -> PrimitiveCheck:
    definition = type_definition(type_name)
    regex = definition.regex if definition is not None else None
    if regex == _ANY_TEXT:
        return _text_check(type_name, re.compile(regex, re.ASCII | re.DOTALL).fullmatch)
    if regex == _ID:
        return _id_check(type_name, re.compile(regex, re.ASCII | re.DOTALL).fullmatch)
    # re.ASCII: the spec's regexes are Java ones, where \s and \S are ASCII-only classes.
    fullmatch = re.compile(regex or ".+", re.ASCII | re.DOTALL).fullmatch
    kind = _CALENDAR_KINDS.get(type_name, 0)  # 0: not a calendar type
    # Values already found valid (codes, systems, dates repeat across a bulk load): a set lookup
    # instead of the regex. Bounded, and short values only, so memory stays small.
    known_valid: set[str] = set()

    def check(value: object) -> Problem | None:
        if type(value) is str and value in known_valid:
            return None
        if (
            type(value) is str
            and value  # JSON primitives are never empty (json.html), whatever the regex allows
            and ((kind and _calendar_shaped(value, kind)) or fullmatch(value) is not None)
            and len(value) <= MAX_STRING_LENGTH
            and (not kind or _valid_calendar_day(value))
        ):
            if len(value) <= _REMEMBERED_LENGTH and len(known_valid) < _REMEMBERED_VALUES:
                known_valid.add(value)
            return None
        return _string_problem(type_name, value, fullmatch)

    simple = _SIMPLE_CALENDAR_KINDS.get(kind, 0)
    if not kind and regex == _URI_REGEX:
        simple = URI_KIND
    elif not kind and regex == _CODE_REGEX:
        simple = CODE_KIND
    if simple:
        _SIMPLE_KINDS[check] = simple
    return check


def _text_check(type_name: str, fullmatch: Matcher) -> PrimitiveCheck:
    """``string``/``markdown``: the regex's verdict by two character searches (the regex ran
    on every value not remembered, ~900 instructions for a short text; ids, names and notes
    are mostly new in a bulk load). The problem, when there is one, is the regex path's."""

    def check(value: object) -> Problem | None:
        if (
            type(value) is str
            and value
            and "\v" not in value
            and "\f" not in value
            and len(value) <= MAX_STRING_LENGTH
        ):
            return None
        return _string_problem(type_name, value, fullmatch)

    _SIMPLE_KINDS[check] = TEXT_KIND
    return check


def _id_check(type_name: str, fullmatch: Matcher) -> PrimitiveCheck:
    """``id``: :func:`id_shaped` is the regex's verdict (ids are mostly new in a bulk load, so
    remembering them saved nothing); the problem, when there is one, is the regex path's."""

    def check(value: object) -> Problem | None:
        if type(value) is str and id_shaped(value):
            return None
        return _string_problem(type_name, value, fullmatch)

    _SIMPLE_KINDS[check] = ID_KIND
    return check


def _string_problem(type_name: str, value: object, fullmatch: Matcher) -> Problem:
    if type(value) is not str:
        return ("structure", f"expected a JSON string for {type_name}, found {_describe(value)}")
    if not value:
        return ("value", f"{type_name} must not be empty (ele-1)")
    if len(value) > MAX_STRING_LENGTH:
        return ("value", f"value is longer than the permitted maximum length of 1 MB ({type_name})")
    if fullmatch(value) is None:
        return ("value", f"invalid {type_name} value {_excerpt(value)!r}")
    return ("value", f"invalid {type_name} value {value!r}: not a calendar date")


def _excerpt(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


def _canonical_check() -> PrimitiveCheck:
    """Canonical references are absolute URLs or ``#id`` fragments (references.html#canonical)."""
    check_format = _string_check("canonical")

    def check(value: object) -> Problem | None:
        problem = check_format(value)
        if problem is not None or type(value) is not str or value[0] == "#":
            return problem
        if _SCHEME.match(value) is None:
            return ("value", f"canonical URLs must be absolute (or #fragments), found {value!r}")
        return None

    return check


def _number_check(type_name: str) -> PrimitiveCheck:
    integral = type_name != "decimal"
    minimum = {"positiveInt": 1, "unsignedInt": 0}.get(type_name, INTEGER_MIN)

    def check(value: object) -> Problem | None:
        if type(value) is int:
            if integral and not minimum <= value <= INTEGER_MAX:
                return ("value", f"{type_name} value {value} is out of range")
            return None
        if type(value) is float or type(value) is Decimal:
            # Decimal: json_codec keeps precision a float would lose (1.50, 30 digits)
            if not integral:
                return None
            found = "a decimal number"
        else:
            found = _describe(value)
        kind = "integer" if integral else "number"
        return ("structure", f"expected a JSON {kind} for {type_name}, found {found}")

    if not integral:
        _SIMPLE_KINDS[check] = DECIMAL_KIND
    else:
        _SIMPLE_KINDS[check] = {1: POSITIVE_KIND, 0: UNSIGNED_KIND}.get(minimum, INTEGER_KIND)
    return check


def _check_boolean(value: object) -> Problem | None:
    if type(value) is bool:
        return None
    return ("structure", f"expected a JSON boolean (true or false), found {_describe(value)}")


def _check_base64(value: object) -> Problem | None:
    if type(value) is not str:
        return ("structure", f"expected a JSON string for base64Binary, found {_describe(value)}")
    if _BASE64.fullmatch(value) is None:
        bad = _BASE64_CHARS.search(value)
        where = f": illegal character {bad.group()!r}" if bad else ""
        return ("value", f"invalid base64Binary value{where}")
    return None


def _check_xhtml(value: object) -> Problem | None:
    if type(value) is not str:
        return ("structure", f"expected a JSON string for xhtml, found {_describe(value)}")
    text = value.lstrip()
    if not text.startswith("<div"):
        return ("value", "narrative must be an xhtml <div> element")
    opening = text[: text.find(">") + 1]
    if _XHTML_NAMESPACE not in opening:
        return (
            "value",
            "narrative <div> must be in the xhtml namespace (http://www.w3.org/1999/xhtml)",
        )
    tag = _XHTML_FORBIDDEN_TAG.search(text)
    if tag is not None:
        return ("value", f"invalid element name in the xhtml ({tag.group(1).lower()!r})")
    attribute = _XHTML_EVENT_ATTRIBUTE.search(text)
    if attribute is not None:
        return ("value", f"invalid attribute name in the xhtml ({attribute.group(1).lower()!r})")
    for entity in _XHTML_ENTITY.findall(text):
        if entity not in _XML_ENTITIES:
            return ("value", f"invalid entity in the xhtml ('&{entity};')")
    if _XHTML_TEXT.search(text) is None and _XHTML_IMAGE.search(text) is None:
        return ("value", "txt-2: the narrative SHALL have some non-whitespace content")
    return None


_SIMPLE_KINDS[_check_boolean] = BOOLEAN_KIND


def simple_kind(check: PrimitiveCheck) -> int:
    """Which of the kinds above ``check`` is (0: none, the C twin calls it)."""
    return _SIMPLE_KINDS.get(check, 0)


def primitive_check(type_name: str) -> PrimitiveCheck:
    """The checker for one primitive type; unknown names get the string checker."""
    if type_name == "boolean":
        return _check_boolean
    if type_name == "base64Binary":
        return _check_base64
    if type_name == "xhtml":
        return _check_xhtml
    if type_name == "canonical":
        return _canonical_check()
    if type_name in _NUMBER_TYPES:
        return _number_check(type_name)
    definition = type_definition(type_name)
    if definition is None or not definition.is_primitive:
        return _string_check("string")
    return _string_check(type_name)


__all__ = [
    "MAX_STRING_LENGTH",
    "PrimitiveCheck",
    "Problem",
    "primitive_check",
    "simple_kind",
]
