"""The FHIRPath tokenizer: text -> tokens with positions.

https://hl7.org/fhirpath/N1/#grammar (lexer rules): identifiers (plain or in backticks),
strings with escapes, numbers, ``@`` date/time literals, ``$`` special and ``%`` environment
variables, operators, and ``//`` / ``/* */`` comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yteso.fhirpath.errors import FhirPathSyntaxError

IDENT = "ident"
NUMBER = "number"
STRING = "string"
DATETIME = "datetime"
SPECIAL = "special"
CONSTANT = "constant"
OPERATOR = "operator"
END = "end"

_TIME = r"\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATETIME = re.compile(
    r"@(?:T"
    + _TIME
    + r"|\d{4}(?:-\d{2}(?:-\d{2})?)?(?:T(?:"
    + _TIME
    + r"(?:Z|[+-]\d{2}:\d{2})?)?)?)"
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("!=", "!~", "<=", ">=", *"()[]{}.,+-*/&|=~<>")
_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n"}
_ESCAPES |= {"r": "\r", "t": "\t"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str  # the value: unescaped for strings and delimited identifiers
    offset: int
    quoted: bool = False  # a `delimited` identifier (never a keyword)


def position(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of an offset."""
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def syntax_error(source: str, offset: int, message: str) -> FhirPathSyntaxError:
    line, column = position(source, offset)
    return FhirPathSyntaxError(message, line, column)


def _unescape(source: str, start: int, end: int) -> str:
    out: list[str] = []
    index = start
    while index < end:
        char = source[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        code = source[index + 1] if index + 1 < end else ""
        if code == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", source[index + 2 : index + 6]):
            out.append(chr(int(source[index + 2 : index + 6], 16)))
            index += 6
        elif code in _ESCAPES:
            out.append(_ESCAPES[code])
            index += 2
        else:
            raise syntax_error(source, index, f"invalid escape \\{code}")
    return "".join(out)


def _quoted(source: str, start: int, quote: str) -> tuple[str, int]:
    index = start + 1
    while index < len(source):
        if source[index] == "\\":
            index += 2
            continue
        if source[index] == quote:
            return _unescape(source, start + 1, index), index + 1
        index += 1
    raise syntax_error(source, start, f"unterminated {quote} literal")


def _skip_space_and_comments(source: str, index: int) -> int:
    while index < len(source):
        if source[index].isspace():
            index += 1
        elif source.startswith("//", index):
            end = source.find("\n", index)
            index = len(source) if end < 0 else end + 1
        elif source.startswith("/*", index):
            end = source.find("*/", index + 2)
            if end < 0:
                raise syntax_error(source, index, "unterminated comment")
            index = end + 2
        else:
            break
    return index


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    index = _skip_space_and_comments(source, 0)
    while index < len(source):
        token, index = _next_token(source, index)
        tokens.append(token)
        index = _skip_space_and_comments(source, index)
    tokens.append(Token(END, "", len(source)))
    return tokens


def _next_token(source: str, index: int) -> tuple[Token, int]:
    char = source[index]
    if char == "'":
        text, end = _quoted(source, index, "'")
        return Token(STRING, text, index), end
    if char == "`":
        text, end = _quoted(source, index, "`")
        return Token(IDENT, text, index, quoted=True), end
    if char == "@":
        match = _DATETIME.match(source, index)
        if match is None:
            raise syntax_error(source, index, "invalid date/time literal")
        return Token(DATETIME, match.group()[1:], index), match.end()
    if char in "$%":
        return _variable(source, index)
    match = _NUMBER.match(source, index) or _IDENT.match(source, index)
    if match is not None:
        kind = NUMBER if char.isdigit() else IDENT
        return Token(kind, match.group(), index), match.end()
    for operator in _OPERATORS:
        if source.startswith(operator, index):
            return Token(OPERATOR, operator, index), index + len(operator)
    raise syntax_error(source, index, f"unexpected character {char!r}")


def _variable(source: str, index: int) -> tuple[Token, int]:
    kind = SPECIAL if source[index] == "$" else CONSTANT
    following = source[index + 1 : index + 2]
    if kind == CONSTANT and following in ("`", "'"):
        text, end = _quoted(source, index + 1, following)
        return Token(kind, text, index), end
    match = _IDENT.match(source, index + 1)
    if match is None:
        raise syntax_error(source, index, f"expected a name after {source[index]}")
    return Token(kind, match.group(), index), match.end()
