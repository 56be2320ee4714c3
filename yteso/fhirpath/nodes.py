"""The immutable FHIRPath syntax tree.

https://hl7.org/fhirpath/N1/#grammar. Every node is a frozen dataclass carrying the source
offset it starts at (not part of equality, so a printed and re-parsed tree compares equal).
The evaluator and the SQL compiler dispatch on the node class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Expression:
    offset: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class EmptyLiteral(Expression):
    """``{}``."""


@dataclass(frozen=True, slots=True)
class BooleanLiteral(Expression):
    value: bool


@dataclass(frozen=True, slots=True)
class StringLiteral(Expression):
    value: str


@dataclass(frozen=True, slots=True)
class NumberLiteral(Expression):
    """An Integer (``int``) or Decimal (``Decimal``, scale kept: ``1.50``)."""

    value: int | Decimal


@dataclass(frozen=True, slots=True)
class DateTimeLiteral(Expression):
    """``@2015-02-04T14:34``, ``@2015T``, ``@T14:34``: ``text`` is what follows the ``@``."""

    text: str


@dataclass(frozen=True, slots=True)
class QuantityLiteral(Expression):
    """``4.5 'mg'`` (a UCUM code) or ``3 days`` (a calendar keyword, ``calendar`` true)."""

    value: int | Decimal
    unit: str
    calendar: bool = False


@dataclass(frozen=True, slots=True)
class Identifier(Expression):
    """A name at the start of a path: an element of the focus or a type name (``Patient``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Member(Expression):
    """``source.name``."""

    source: Expression
    name: str


@dataclass(frozen=True, slots=True)
class FunctionCall(Expression):
    """``source.name(args)``; ``source`` is None for a call at the start of a path."""

    source: Expression | None
    name: str
    arguments: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Indexer(Expression):
    """``source[index]``."""

    source: Expression
    index: Expression


@dataclass(frozen=True, slots=True)
class SpecialVariable(Expression):
    """``$this``, ``$index`` or ``$total`` (``name`` without the ``$``)."""

    name: str


@dataclass(frozen=True, slots=True)
class EnvironmentVariable(Expression):
    """``%resource``, ``%`vs-administrative-gender```: ``name`` without ``%`` and quotes."""

    name: str


@dataclass(frozen=True, slots=True)
class Unary(Expression):
    """``+operand`` or ``-operand``."""

    operator: str
    operand: Expression


@dataclass(frozen=True, slots=True)
class Binary(Expression):
    """Every infix operator but ``is``/``as``: ``*``, ``div``, ``|``, ``=``, ``and``..."""

    operator: str
    left: Expression
    right: Expression


@dataclass(frozen=True, slots=True)
class TypeSpecifier(Expression):
    """``Quantity``, ``FHIR.Patient``, ``System.Boolean`` (``namespace`` None if unqualified)."""

    namespace: str | None
    name: str


@dataclass(frozen=True, slots=True)
class TypeOperation(Expression):
    """``operand is Type`` or ``operand as Type``."""

    operator: str
    operand: Expression
    type: TypeSpecifier


__all__ = [
    "Binary",
    "BooleanLiteral",
    "DateTimeLiteral",
    "EmptyLiteral",
    "EnvironmentVariable",
    "Expression",
    "FunctionCall",
    "Identifier",
    "Indexer",
    "Member",
    "NumberLiteral",
    "QuantityLiteral",
    "SpecialVariable",
    "StringLiteral",
    "TypeOperation",
    "TypeSpecifier",
    "Unary",
]
