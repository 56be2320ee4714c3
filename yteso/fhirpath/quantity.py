"""FHIRPath Quantity values with UCUM and calendar-duration units.

https://hl7.org/fhirpath/N1/#quantity and https://ucum.org/ucum: a small UCUM parser (prefixes,
the atoms clinical data uses, ``.``/``/`` products and exponents, ``{annotations}``) that turns a
unit into a factor and a dimension vector, so ``4 'g' = 4000 'mg'`` and ``7 days = 1 'wk'``.
Calendar durations ``year``/``month`` are not comparable with UCUM ``a``/``mo`` (spec 2.0 §
"Time-valued quantities"), so they keep dimensions of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

Dimensions = tuple[int, ...]
# Dimension axes: length, time, mass, amount, temperature, charge, luminosity, arbitrary,
# calendar year, calendar month.
_AXES = 10


def _dim(**powers: int) -> Dimensions:
    order = ("L", "T", "M", "N", "K", "Q", "J", "U", "Y", "O")
    return tuple(powers.get(axis, 0) for axis in order)


_NONE = _dim()
# atom: (factor relative to base units, dimensions). Base units: m, s, g, mol, K, C, cd.
_ATOMS: dict[str, tuple[Decimal, Dimensions]] = {
    "m": (Decimal(1), _dim(L=1)),
    "s": (Decimal(1), _dim(T=1)),
    "g": (Decimal(1), _dim(M=1)),
    "mol": (Decimal(1), _dim(N=1)),
    "K": (Decimal(1), _dim(K=1)),
    "Cel": (Decimal(1), _dim(K=1)),
    "C": (Decimal(1), _dim(Q=1)),
    "cd": (Decimal(1), _dim(J=1)),
    "l": (Decimal("0.001"), _dim(L=3)),
    "L": (Decimal("0.001"), _dim(L=3)),
    "min": (Decimal(60), _dim(T=1)),
    "h": (Decimal(3600), _dim(T=1)),
    "d": (Decimal(86400), _dim(T=1)),
    "wk": (Decimal(604800), _dim(T=1)),
    "mo": (Decimal(2629800), _dim(T=1)),
    "a": (Decimal(31557600), _dim(T=1)),
    "Hz": (Decimal(1), _dim(T=-1)),
    "N": (Decimal(1000), _dim(M=1, L=1, T=-2)),
    "Pa": (Decimal(1000), _dim(M=1, L=-1, T=-2)),
    "J": (Decimal(1000), _dim(M=1, L=2, T=-2)),
    "W": (Decimal(1000), _dim(M=1, L=2, T=-3)),
    "A": (Decimal(1), _dim(Q=1, T=-1)),
    "V": (Decimal(1000), _dim(M=1, L=2, T=-2, Q=-1)),
    "cal": (Decimal("4184"), _dim(M=1, L=2, T=-2)),
    "kat": (Decimal(1), _dim(N=1, T=-1)),
    "U": (Decimal(1) / Decimal(60_000_000), _dim(N=1, T=-1)),
    "eq": (Decimal(1), _dim(N=1)),
    "%": (Decimal("0.01"), _NONE),
    "[ppm]": (Decimal("0.000001"), _NONE),
    "mm[Hg]": (Decimal("133322.387415"), _dim(M=1, L=-1, T=-2)),
    "[lb_av]": (Decimal("453.59237"), _dim(M=1)),
    "[oz_av]": (Decimal("28.349523125"), _dim(M=1)),
    "[in_i]": (Decimal("0.0254"), _dim(L=1)),
    "[ft_i]": (Decimal("0.3048"), _dim(L=1)),
    "[yd_i]": (Decimal("0.9144"), _dim(L=1)),
    "[mi_i]": (Decimal("1609.344"), _dim(L=1)),
    "[iU]": (Decimal(1), _dim(U=1)),
    "[IU]": (Decimal(1), _dim(U=1)),
    "[pH]": (Decimal(1), _dim(U=1)),
    "10*": (Decimal(10), _NONE),
}
_PREFIXES: dict[str, Decimal] = {
    "Y": Decimal("1e24"),
    "Z": Decimal("1e21"),
    "E": Decimal("1e18"),
    "P": Decimal("1e15"),
    "T": Decimal("1e12"),
    "G": Decimal("1e9"),
    "M": Decimal("1e6"),
    "k": Decimal("1e3"),
    "h": Decimal("1e2"),
    "da": Decimal("1e1"),
    "d": Decimal("1e-1"),
    "c": Decimal("1e-2"),
    "m": Decimal("1e-3"),
    "u": Decimal("1e-6"),
    "n": Decimal("1e-9"),
    "p": Decimal("1e-12"),
    "f": Decimal("1e-15"),
    "a": Decimal("1e-18"),
}
_METRIC = frozenset({"m", "s", "g", "mol", "K", "C", "cd", "l", "L", "Hz", "N", "Pa", "J", "W"})
_METRIC |= {"A", "V", "cal", "kat", "U", "eq"}
CALENDAR_UCUM = {
    "week": "wk",
    "day": "d",
    "hour": "h",
    "minute": "min",
    "second": "s",
    "millisecond": "ms",
}
CALENDAR_WORDS = {
    **{word: word for word in ("year", "month", *CALENDAR_UCUM)},
    **{word + "s": word for word in ("year", "month", *CALENDAR_UCUM)},
}
# UCUM codes that name a calendar unit for date arithmetic (``mo`` and ``a`` are not exact).
UCUM_CALENDAR = {"wk": "week", "d": "day", "h": "hour", "min": "minute", "s": "second"}
UCUM_CALENDAR["ms"] = "millisecond"
_COMPONENT = re.compile(r"(\{[^}]*\}|\[[^\]]*\](?:\[[^\]]*\])?|[A-Za-z%]+(?:\[[A-Za-z]+\])?|10\*)")
_EXPONENT = re.compile(r"[+-]?\d+")


@dataclass(frozen=True, slots=True)
class Quantity:
    """A FHIRPath Quantity: a decimal and a UCUM code or a calendar keyword (``days``)."""

    value: Decimal
    unit: str = "1"

    @property
    def is_calendar(self) -> bool:
        return self.unit in CALENDAR_WORDS

    def __str__(self) -> str:
        if self.is_calendar:
            return f"{self.value} {self.unit}"
        return f"{self.value} '{self.unit}'"


def calendar_unit(unit: str) -> str | None:
    """The calendar unit (``day``) a quantity unit stands for in date arithmetic, if any."""
    if unit in CALENDAR_WORDS:
        return CALENDAR_WORDS[unit]
    return UCUM_CALENDAR.get(unit)


@cache
def normalize_unit(unit: str) -> tuple[Decimal, Dimensions] | None:
    """The factor to base units and the dimensions of a unit, or None if not understood."""
    word = CALENDAR_WORDS.get(unit)
    if word == "year":
        return Decimal(1), _dim(Y=1)
    if word == "month":
        return Decimal(1), _dim(O=1)
    if word is not None:
        unit = CALENDAR_UCUM[word]
    try:
        return _parse_term(unit)
    except ValueError:
        return None


def _parse_term(text: str) -> tuple[Decimal, Dimensions]:
    factor, dims = Decimal(1), [0] * _AXES
    position, sign = 0, 1
    if text.startswith("/"):
        position, sign = 1, -1
    while position < len(text):
        part_factor, part_dims, position = _parse_component(text, position)
        factor = factor * part_factor if sign > 0 else factor / part_factor
        dims = [d + sign * p for d, p in zip(dims, part_dims, strict=True)]
        if position < len(text):
            if text[position] not in "./":
                raise ValueError(text)
            sign = 1 if text[position] == "." else -1
            position += 1
    return factor, tuple(dims)


def _parse_component(text: str, position: int) -> tuple[Decimal, Dimensions, int]:
    if text[position] == "(":
        depth, end = 0, position
        while end < len(text):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
            end += 1
        factor, dims = _parse_term(text[position + 1 : end])
        return factor, dims, end + 1
    if text[position].isdigit() and not text.startswith("10*", position):
        match = re.compile(r"\d+").match(text, position)
        assert match is not None
        return Decimal(match.group()), _NONE, match.end()
    match = _COMPONENT.match(text, position)
    if match is None:
        raise ValueError(text)
    factor, dims = _atom(match.group())
    position = match.end()
    exponent = _EXPONENT.match(text, position)
    if exponent is not None:
        power = int(exponent.group())
        factor, dims = factor**power, tuple(d * power for d in dims)
        position = exponent.end()
    return factor, dims, position


def _atom(symbol: str) -> tuple[Decimal, Dimensions]:
    if symbol.startswith("{"):
        return Decimal(1), _NONE
    if symbol in _ATOMS:
        return _ATOMS[symbol]
    for size in (2, 1):
        prefix, rest = symbol[:size], symbol[size:]
        if prefix in _PREFIXES and rest in _METRIC:
            factor, dims = _ATOMS[rest]
            return _PREFIXES[prefix] * factor, dims
    raise ValueError(symbol)


def ucum_unit(unit: str) -> str:
    """The UCUM code for a unit, mapping calendar keywords below a month to their codes."""
    word = CALENDAR_WORDS.get(unit)
    return CALENDAR_UCUM.get(word, unit) if word else unit


def to_common(left: Quantity, right: Quantity) -> tuple[Decimal, Decimal] | None:
    """Both values expressed in the left unit, or None when the units are not comparable."""
    if left.unit == right.unit:
        return left.value, right.value
    a, b = normalize_unit(left.unit), normalize_unit(right.unit)
    if a is None or b is None or a[1] != b[1]:
        return None
    return left.value, right.value * b[0] / a[0]


def comparable(left: Quantity, right: Quantity) -> bool:
    return to_common(left, right) is not None


def multiply(left: Quantity, right: Quantity, *, divide: bool = False) -> Quantity | None:
    a, b = normalize_unit(left.unit), normalize_unit(right.unit)
    if a is None or b is None:
        return None
    if divide:
        if right.value == 0:
            return None
        value = left.value / right.value
        unit = _join(ucum_unit(left.unit), ucum_unit(right.unit), "/")
    else:
        value = left.value * right.value
        unit = _join(ucum_unit(left.unit), ucum_unit(right.unit), ".")
    return Quantity(value, unit)


def _join(left: str, right: str, operator: str) -> str:
    if left == "1" and operator == ".":
        return right
    if right == "1":
        return left
    wrapped = f"({right})" if any(c in right for c in "./") else right
    return f"{left}{operator}{wrapped}"
