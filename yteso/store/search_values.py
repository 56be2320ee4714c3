"""Parsing search values: prefixes, numbers with their implicit precision, quantities, tokens.

https://hl7.org/fhir/R4/search.html#prefix, #number, #quantity, #token. Malformed values raise
:class:`Invalid` naming the parameter (a 400 at the API).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from yteso.fhir.errors import Invalid
from yteso.store.date_ranges import PREFIXES


def split_prefix(value: str) -> tuple[str, str]:
    """``ge2020`` -> ``("ge", "2020")``; no prefix means ``eq``."""
    if len(value) > 2 and value[:2] in PREFIXES and not value[2:3].isalpha():
        return value[:2], value[2:]
    return "eq", value


def parse_decimal(text: str, param: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise Invalid(f"{param}: {text!r} is not a number", expression=param) from exc
    if not number.is_finite():
        raise Invalid(f"{param}: {text!r} is not a finite number", expression=param)
    return number


def implicit_range(number: Decimal) -> tuple[Decimal, Decimal]:
    """``100`` means [99.5, 100.5); ``1e2`` means [50, 150): half a unit of the last digit."""
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    half = Decimal(5).scaleb(exponent - 1)
    return number - half, number + half


@dataclass(frozen=True)
class QuantityValue:
    prefix: str
    number: Decimal
    system: str | None
    code: str | None


def parse_quantity(value: str, param: str) -> QuantityValue:
    """``[prefix]number[|system|code]`` (``number||code`` leaves the system open)."""
    prefix, rest = split_prefix(value)
    parts = rest.split("|")
    if len(parts) not in (1, 3):
        raise Invalid(f"{param}: {value!r} is not number|system|code", expression=param)
    number = parse_decimal(parts[0], param)
    if len(parts) == 1:
        return QuantityValue(prefix, number, None, None)
    return QuantityValue(prefix, number, parts[1] or None, parts[2] or None)


@dataclass(frozen=True)
class TokenValue:
    system: str | None  # None: any system
    code: str | None  # None: any code (``system|``)
    no_system: bool = False  # ``|code``: the code has no system


def parse_token(value: str) -> TokenValue:
    if "|" not in value:
        return TokenValue(None, value)
    system, _, code = value.partition("|")
    if not system:
        return TokenValue(None, code, no_system=True)
    return TokenValue(system, code or None)
