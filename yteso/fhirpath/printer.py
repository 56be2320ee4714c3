"""Print a syntax tree back to FHIRPath text that parses to the same tree.

Operators are fully parenthesised, so the output does not depend on precedence; names that
are not plain identifiers (or are keywords) are written in backticks.
"""

from __future__ import annotations

import re
from decimal import Decimal

from yteso.fhirpath import nodes
from yteso.fhirpath.parser import KEYWORD_OPERATORS
from yteso.fhirpath.quantity import CALENDAR_WORDS

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = KEYWORD_OPERATORS | {"true", "false"}
_STRING_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}


def to_text(node: nodes.Expression) -> str:
    printer = getattr(_Printer, "_" + type(node).__name__)
    text: str = printer(node)
    return text


def _name(name: str, *, allow_reserved: bool = False) -> str:
    if _PLAIN.fullmatch(name) and (allow_reserved or name not in _RESERVED):
        return name
    escaped = name.replace("\\", "\\\\").replace("`", "\\`")
    return f"`{escaped}`"


def _string(value: str) -> str:
    escaped = "".join(_STRING_ESCAPES.get(char, char) for char in value)
    return f"'{escaped}'"


def _number(value: int | Decimal) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


class _Printer:
    @staticmethod
    def _EmptyLiteral(node: nodes.EmptyLiteral) -> str:
        return "{}"

    @staticmethod
    def _BooleanLiteral(node: nodes.BooleanLiteral) -> str:
        return "true" if node.value else "false"

    @staticmethod
    def _StringLiteral(node: nodes.StringLiteral) -> str:
        return _string(node.value)

    @staticmethod
    def _NumberLiteral(node: nodes.NumberLiteral) -> str:
        return _number(node.value)

    @staticmethod
    def _DateTimeLiteral(node: nodes.DateTimeLiteral) -> str:
        return "@" + node.text

    @staticmethod
    def _QuantityLiteral(node: nodes.QuantityLiteral) -> str:
        unit = node.unit if node.calendar and node.unit in CALENDAR_WORDS else _string(node.unit)
        return f"{_number(node.value)} {unit}"

    @staticmethod
    def _Identifier(node: nodes.Identifier) -> str:
        return _name(node.name)

    @staticmethod
    def _Member(node: nodes.Member) -> str:
        return f"{to_text(node.source)}.{_name(node.name, allow_reserved=True)}"

    @staticmethod
    def _FunctionCall(node: nodes.FunctionCall) -> str:
        arguments = ", ".join(to_text(argument) for argument in node.arguments)
        call = f"{_name(node.name, allow_reserved=node.source is not None)}({arguments})"
        return call if node.source is None else f"{to_text(node.source)}.{call}"

    @staticmethod
    def _Indexer(node: nodes.Indexer) -> str:
        return f"{to_text(node.source)}[{to_text(node.index)}]"

    @staticmethod
    def _SpecialVariable(node: nodes.SpecialVariable) -> str:
        return "$" + node.name

    @staticmethod
    def _EnvironmentVariable(node: nodes.EnvironmentVariable) -> str:
        return "%" + _name(node.name, allow_reserved=True)

    @staticmethod
    def _Unary(node: nodes.Unary) -> str:
        return f"({node.operator}{to_text(node.operand)})"

    @staticmethod
    def _Binary(node: nodes.Binary) -> str:
        return f"({to_text(node.left)} {node.operator} {to_text(node.right)})"

    @staticmethod
    def _TypeSpecifier(node: nodes.TypeSpecifier) -> str:
        name = _name(node.name, allow_reserved=True)
        return f"{_name(node.namespace, allow_reserved=True)}.{name}" if node.namespace else name

    @staticmethod
    def _TypeOperation(node: nodes.TypeOperation) -> str:
        type_text = _Printer._TypeSpecifier(node.type)
        return f"({to_text(node.operand)} {node.operator} {type_text})"
