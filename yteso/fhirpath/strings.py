"""String manipulation functions.

https://hl7.org/fhirpath/N1/#string-manipulation (plus ``encode``/``decode``/``escape``/
``unescape``/``trim``/``split``/``join`` of FHIRPath 2.1, which the R4 test suite exercises).
Regular expressions run in single-line mode (``.`` matches a newline), as the spec asks.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Callable
from functools import lru_cache

from yteso.fhirpath.context import Collection, Environment, integer_argument, string_input
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.registry import function
from yteso.fhirpath.values import to_system


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error as exc:
        raise FhirPathEvaluationError(f"invalid regular expression {pattern!r}: {exc}") from None


def _string_function(name: str, arity: int, body: Callable[..., object]) -> None:
    """Register ``name``: empty input or empty argument -> empty; else ``body(text, *args)``."""

    def implementation(items: Collection, env: Environment, *arguments: Collection) -> Collection:
        text = string_input(items, f"{name}()")
        if text is None:
            return []
        values = [string_input(a, f"{name}() argument") for a in arguments]
        if any(value is None for value in values):
            return []
        result = body(text, *values)
        if result is None:
            return []
        return list(result) if isinstance(result, list) else [result]

    function(name, "v" * arity)(implementation)


def _substring(items: Collection, env: Environment, *arguments: Collection) -> Collection:
    text = string_input(items, "substring()")
    start = integer_argument(arguments[0], "substring()")
    if text is None or start is None or not 0 <= start < len(text):
        return []
    if len(arguments) > 1:
        length = integer_argument(arguments[1], "substring()")
        if length is None:
            return [text[start:]]
        return [text[start : start + max(length, 0)]]
    return [text[start:]]


function("substring", "vv", required=1)(_substring)


def _replace_matches(text: str, pattern: str, substitution: str) -> str:
    if pattern == "":
        return text
    python_substitution = re.sub(r"\$(\d+)", r"\\\1", substitution)
    return _regex(pattern).sub(python_substitution, text)


def _encode(text: str, encoding: str) -> str | None:
    raw = text.encode()
    if encoding == "hex":
        return raw.hex()
    if encoding == "base64":
        return base64.b64encode(raw).decode()
    if encoding == "urlbase64":
        return base64.urlsafe_b64encode(raw).decode()
    return None


def _decode(text: str, encoding: str) -> str | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(text).decode()
        if encoding == "base64":
            return base64.b64decode(text).decode()
        if encoding == "urlbase64":
            return base64.urlsafe_b64decode(text).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return None


def _escape(text: str, target: str) -> str | None:
    if target == "html":
        return html.escape(text)
    if target == "json":
        return json.dumps(text)[1:-1]
    return None


def _unescape(text: str, target: str) -> str | None:
    if target == "html":
        return html.unescape(text)
    if target == "json":
        return _JSON_ESCAPE.sub(_json_unescape_one, text)
    return None


_JSON_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_JSON_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _json_unescape_one(match: re.Match[str]) -> str:
    code = match.group(1)
    if code.startswith("u") and len(code) == 5:
        return chr(int(code[1:], 16))
    return _JSON_ESCAPES.get(code, code)


_TABLE: dict[str, tuple[int, Callable[..., object]]] = {
    "indexOf": (1, lambda text, sub: text.find(sub)),
    "startsWith": (1, lambda text, prefix: text.startswith(prefix)),
    "endsWith": (1, lambda text, suffix: text.endswith(suffix)),
    "contains": (1, lambda text, sub: sub in text),
    "upper": (0, str.upper),
    "lower": (0, str.lower),
    "replace": (2, lambda text, old, new: text.replace(old, new)),
    "matches": (1, lambda text, pattern: _regex(pattern).search(text) is not None),
    "matchesFull": (1, lambda text, pattern: _regex(pattern).fullmatch(text) is not None),
    "replaceMatches": (2, _replace_matches),
    "length": (0, len),
    "toChars": (0, list),
    "split": (1, lambda text, separator: text.split(separator)),
    "trim": (0, str.strip),
    "encode": (1, _encode),
    "decode": (1, _decode),
    "escape": (1, _escape),
    "unescape": (1, _unescape),
}
for _name, (_arity, _body) in _TABLE.items():
    _string_function(_name, _arity, _body)


@function("join", "v", required=0)
def join(items: Collection, env: Environment, separator: Collection | None = None) -> Collection:
    glue = string_input(separator or [], "join()") or ""
    values = [to_system(item) for item in items]
    if not all(isinstance(value, str) for value in values):
        raise FhirPathEvaluationError("join() expects a collection of strings")
    return [glue.join(values)]
