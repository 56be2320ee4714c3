"""Opaque keyset paging cursors: the sort-key values of the row a page ended (or began) at.

Keyset paging (``WHERE (key) > (last key) ORDER BY key LIMIT n``) costs the same on page 1 and
page 10,000, unlike ``OFFSET``; the cursor travels in the Bundle's ``next``/``previous`` links
(https://hl7.org/fhir/R4/http.html#paging).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson

from yteso.fhir.errors import Invalid

CursorValue = str | int | float


@dataclass(frozen=True)
class PageCursor:
    values: tuple[CursorValue, ...]
    forward: bool = True  # False: the page before the row the values describe


def encode_cursor(cursor: PageCursor) -> str:
    payload = orjson.dumps({"k": list(cursor.values), "f": cursor.forward})
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(text: str, key_count: int) -> PageCursor:
    """Parse a cursor made by :func:`encode_cursor` for a sort with ``key_count`` keys."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        values = tuple(data["k"])
        forward = bool(data["f"])
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise Invalid(
            "the paging cursor is not one this server made", expression="_cursor"
        ) from exc
    if len(values) != key_count or not all(isinstance(v, str | int | float) for v in values):
        raise Invalid("the paging cursor does not fit this search's sort", expression="_cursor")
    return PageCursor(values, forward)
