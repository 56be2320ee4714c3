"""The FHIRPath parser: tokens -> syntax tree, by precedence climbing.

https://hl7.org/fhirpath/N1/#operator-precedence (lowest first): ``implies``; ``or``/``xor``;
``and``; ``in``/``contains``; ``= ~ != !~``; ``< > <= >=``; ``|``; ``is``/``as``; ``+ - &``;
``* / div mod``; unary ``+``/``-``; then ``.`` invocation and ``[]`` indexing.
"""

from __future__ import annotations

from decimal import Decimal

from yteso.fhirpath import nodes
from yteso.fhirpath.quantity import CALENDAR_WORDS
from yteso.fhirpath.temporal import parse_datetime, parse_time
from yteso.fhirpath.tokens import (
    CONSTANT,
    DATETIME,
    END,
    IDENT,
    NUMBER,
    OPERATOR,
    SPECIAL,
    STRING,
    Token,
    syntax_error,
    tokenize,
)

BINARY_PRECEDENCE = {
    "implies": 1,
    "or": 2,
    "xor": 2,
    "and": 3,
    "in": 4,
    "contains": 4,
    "=": 5,
    "~": 5,
    "!=": 5,
    "!~": 5,
    "<": 6,
    ">": 6,
    "<=": 6,
    ">=": 6,
    "|": 7,
    "is": 8,
    "as": 8,
    "+": 9,
    "-": 9,
    "&": 9,
    "*": 10,
    "/": 10,
    "div": 10,
    "mod": 10,
}
UNARY_PRECEDENCE = 11
KEYWORD_OPERATORS = frozenset(op for op in BINARY_PRECEDENCE if op.isalpha())
SPECIAL_NAMES = frozenset({"this", "index", "total"})


def parse(source: str) -> nodes.Expression:
    """The syntax tree of an expression; raises FhirPathSyntaxError with line and column."""
    return _Parser(source).parse()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.position = 0

    def parse(self) -> nodes.Expression:
        if self.peek().kind == END:
            raise self.error(self.peek(), "empty expression")
        expression = self.expression(0)
        if self.peek().kind != END:
            raise self.error(self.peek(), f"unexpected {self.peek().text!r}")
        return expression

    # -- token helpers -------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.position + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.position += 1
        return token

    def error(self, token: Token, message: str) -> Exception:
        return syntax_error(self.source, token.offset, message)

    def expect(self, text: str) -> Token:
        token = self.advance()
        if token.kind != OPERATOR or token.text != text:
            shown = token.text or "end of expression"
            raise self.error(token, f"expected {text!r}, found {shown!r}")
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.kind == OPERATOR and token.text == text

    def binary_operator(self, token: Token) -> str | None:
        if token.kind == OPERATOR and token.text in BINARY_PRECEDENCE:
            return token.text
        if token.kind == IDENT and not token.quoted and token.text in KEYWORD_OPERATORS:
            return token.text
        return None

    # -- grammar ---------------------------------------------------------------------------
    def expression(self, min_precedence: int) -> nodes.Expression:
        left = self.prefix()
        while True:
            token = self.peek()
            operator = self.binary_operator(token)
            if operator is None or BINARY_PRECEDENCE[operator] < min_precedence:
                return left
            self.advance()
            precedence = BINARY_PRECEDENCE[operator]
            if operator in ("is", "as"):
                type_spec = self.type_specifier()
                left = nodes.TypeOperation(operator, left, type_spec, offset=token.offset)
            else:
                right = self.expression(precedence + 1)
                left = nodes.Binary(operator, left, right, offset=token.offset)

    def prefix(self) -> nodes.Expression:
        token = self.peek()
        if token.kind == OPERATOR and token.text in ("+", "-"):
            self.advance()
            operand = self.expression(UNARY_PRECEDENCE)
            return nodes.Unary(token.text, operand, offset=token.offset)
        return self.postfix(self.term())

    def postfix(self, expression: nodes.Expression) -> nodes.Expression:
        while True:
            if self.at("."):
                self.advance()
                name = self.advance()
                if name.kind != IDENT:
                    raise self.error(name, "expected a name after '.'")
                if self.at("("):
                    arguments = self.arguments()
                    expression = nodes.FunctionCall(
                        expression, name.text, arguments, offset=name.offset
                    )
                else:
                    expression = nodes.Member(expression, name.text, offset=name.offset)
            elif self.at("["):
                bracket = self.advance()
                index = self.expression(0)
                self.expect("]")
                expression = nodes.Indexer(expression, index, offset=bracket.offset)
            else:
                return expression

    def arguments(self) -> tuple[nodes.Expression, ...]:
        self.expect("(")
        arguments: list[nodes.Expression] = []
        if not self.at(")"):
            arguments.append(self.expression(0))
            while self.at(","):
                self.advance()
                arguments.append(self.expression(0))
        self.expect(")")
        return tuple(arguments)

    def type_specifier(self) -> nodes.TypeSpecifier:
        first = self.advance()
        if first.kind != IDENT:
            raise self.error(first, "expected a type name")
        if self.at(".") and self.peek(1).kind == IDENT:
            self.advance()
            second = self.advance()
            return nodes.TypeSpecifier(first.text, second.text, offset=first.offset)
        return nodes.TypeSpecifier(None, first.text, offset=first.offset)

    def term(self) -> nodes.Expression:
        token = self.advance()
        kind = token.kind
        if kind == NUMBER:
            return self.number(token)
        if kind == STRING:
            return nodes.StringLiteral(token.text, offset=token.offset)
        if kind == DATETIME:
            return self.datetime(token)
        if kind == IDENT:
            return self.identifier(token)
        if kind == SPECIAL:
            if token.text not in SPECIAL_NAMES:
                raise self.error(token, f"unknown special variable ${token.text}")
            return nodes.SpecialVariable(token.text, offset=token.offset)
        if kind == CONSTANT:
            return nodes.EnvironmentVariable(token.text, offset=token.offset)
        if kind == OPERATOR and token.text == "(":
            inner = self.expression(0)
            self.expect(")")
            return inner
        if kind == OPERATOR and token.text == "{":
            self.expect("}")
            return nodes.EmptyLiteral(offset=token.offset)
        raise self.error(token, f"unexpected {token.text or 'end of expression'!r}")

    def number(self, token: Token) -> nodes.Expression:
        value: int | Decimal = Decimal(token.text) if "." in token.text else int(token.text)
        unit = self.peek()
        if unit.kind == STRING:
            self.advance()
            return nodes.QuantityLiteral(value, unit.text, offset=token.offset)
        if unit.kind == IDENT and not unit.quoted and unit.text in CALENDAR_WORDS:
            self.advance()
            return nodes.QuantityLiteral(value, unit.text, True, offset=token.offset)
        return nodes.NumberLiteral(value, offset=token.offset)

    def datetime(self, token: Token) -> nodes.Expression:
        text = token.text
        valid = parse_time(text[1:]) if text.startswith("T") else parse_datetime(text, literal=True)
        if valid is None:
            raise self.error(token, f"invalid date/time literal @{text}")
        return nodes.DateTimeLiteral(text, offset=token.offset)

    def identifier(self, token: Token) -> nodes.Expression:
        if not token.quoted and token.text in ("true", "false"):
            return nodes.BooleanLiteral(token.text == "true", offset=token.offset)
        if self.at("("):
            arguments = self.arguments()
            return nodes.FunctionCall(None, token.text, arguments, offset=token.offset)
        return nodes.Identifier(token.text, offset=token.offset)
