"""FHIR JSON that never alters a number: orjson's speed, decimal precision kept exactly.

FHIR decimals carry their precision in their text (``1.50`` is not ``1.5``;
https://hl7.org/fhir/R4/datatypes.html#decimal) and integers may exceed 64 bits in decimal
elements, but orjson reads every number with a fraction or exponent as a binary float and every
integer beyond 64 bits as a float too. So :func:`loads` takes orjson's result only when each
number in the text is one orjson writes back byte for byte; otherwise it re-reads the text with
the standard library, decimals as :class:`~decimal.Decimal` and integers exact. :func:`dumps`
writes a ``Decimal`` with its own digits. Parsed data therefore holds ``float`` (exact
round-trip guaranteed) or ``Decimal`` (when the float would not have been exact).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Final

import orjson

# A JSON number value always follows ``:``, ``,`` or ``[`` (and optional whitespace), so the scan
# starts at those bytes only, one literal each (Python's re finds a literal prefix fast; a
# pattern that may start at any digit cost ~100 µs on a 1.4 KB resource, and matched inside
# timestamps' "00.000", sending most resources to the slow path). Look-alikes inside strings
# ("a:1.5") only cost a needless check; a value is followed by ``,``, ``}``, ``]``, whitespace or
# the end, which tells "10:00:00.000Z" apart. Tokens orjson might not write back unchanged are those
# with a fraction or exponent, or integers of 16+ digits (beyond float precision).
_NUMBER: Final = rb"[ \t\n\r]*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?=[,}\] \t\n\r]|\Z)"
_NUMBER_VALUES: Final = tuple(
    re.compile(re.escape(before) + _NUMBER) for before in (b":", b",", b"[")
)
_LONG_INTEGER: Final = 16
_PLACEHOLDER: Final = re.compile(rb'"\\u0000yteso-decimal:(\d+)\\u0000"')


def _float_round_trips(token: bytes) -> bool:
    if b"." not in token and b"e" not in token and b"E" not in token:
        return False  # a long integer: orjson reads it as int up to 64 bits, else as float
    return orjson.dumps(float(token)) == token


def _risky_numbers(data: bytes) -> list[bytes]:
    if data.lstrip()[:1] not in (b"{", b"["):  # a bare top-level value follows nothing
        data = b"[" + data
    return [
        token
        for pattern in _NUMBER_VALUES
        for token in pattern.findall(data)
        if b"." in token or b"e" in token or b"E" in token or len(token) >= _LONG_INTEGER
    ]


def _exact_with_orjson(data: bytes) -> bool:
    for token in _risky_numbers(data):
        if not _float_round_trips(token):
            if b"." not in token and b"e" not in token and b"E" not in token:
                if -(2**63) <= int(token) < 2**64:
                    continue  # orjson keeps 64-bit integers exact
            return False
    return True


def _holds_float(value: Any) -> bool:
    """Whether parsed JSON holds a float anywhere. orjson returns ``int`` only for integer
    tokens it read exactly (64 bits) and ``float`` for every other number token (fraction,
    exponent, or too long), so without a float nothing can have lost digits: most resources
    (no decimals) skip the text scan, ~3x the cost of this walk."""
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind is list:
        items = value
    else:
        return kind is float
    for item in items:
        item_kind = type(item)
        if item_kind is float:
            return True
        if (item_kind is dict or item_kind is list) and _holds_float(item):
            return True
    return False


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ``orjson.JSONDecodeError`` (a ``ValueError``) on malformed input."""
    raw = data.encode() if isinstance(data, str) else data
    value = orjson.loads(raw)
    # Text orjson writes back byte for byte holds only numbers it writes back unchanged (each
    # token is orjson's own text for the value read), so no digit was lost. Compact NDJSON
    # usually is such text, and writing it (~4 µs for 1.4 KB) costs a third of the scan below.
    if not _holds_float(value) or orjson.dumps(value) == raw or _exact_with_orjson(raw):
        return value
    return json.loads(raw, parse_float=Decimal, parse_int=_exact_int)


def loads_text(data: bytes) -> tuple[Any, bool]:
    """:func:`loads`, and whether ``data`` is exactly orjson's text of the value (compact, keys
    in order, no duplicates): then the text can stand for the value when writing it back
    (``meta_stamp.spliced_body``). Asking that first costs less than :func:`loads`' walk for
    floats on such text (~1.1 against ~1.8 µs for 1.4 KB), which bulk NDJSON mostly is."""
    value = orjson.loads(data)
    if orjson.dumps(value) == data:
        return value, True  # every number written back unchanged: nothing lost
    if not _holds_float(value) or _exact_with_orjson(data):
        return value, False
    return json.loads(data, parse_float=Decimal, parse_int=_exact_int), False


def _exact_int(text: str) -> int | Decimal:
    # orjson can write integers of up to 64 bits; larger ones travel as Decimal.
    value = int(text)
    return value if -(2**63) <= value < 2**64 else Decimal(text)


def _decimal_text(value: Decimal) -> str:
    text = str(value)
    if not value.is_finite():
        raise TypeError(f"{text} is not a JSON number")
    return text


def dumps(value: Any, *, option: int = 0) -> bytes:
    """Serialise with orjson; ``Decimal`` values keep their exact digits."""
    decimals: list[str] = []

    def default(obj: object) -> str:
        if isinstance(obj, Decimal):
            decimals.append(_decimal_text(obj))
            return f"\x00yteso-decimal:{len(decimals) - 1}\x00"
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    out = orjson.dumps(value, default=default, option=option)
    if not decimals:
        return out
    return _PLACEHOLDER.sub(lambda m: decimals[int(m.group(1))].encode(), out)


__all__ = ["dumps", "loads", "loads_text"]
