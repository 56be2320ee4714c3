"""UCUM canonical units for quantity search (https://hl7.org/fhir/R4/search.html#quantity).

A server "may" compare quantities in canonical units; we do so where a unit is a metric-prefixed
base unit or a ratio of two (``mg``, ``kg``, ``mmol/L``, ``mg/dL``, ``mL``, ``cm``, ``ms``), which
covers the laboratory and vital-sign units our data use. Other units compare by their own code.
https://ucum.org/ucum — prefixes and the base units below are from its tables.
"""

from __future__ import annotations

from decimal import Decimal

UCUM_SYSTEM = "http://unitsofmeasure.org"

_PREFIXES = {
    "": Decimal(1),
    "k": Decimal("1e3"),
    "h": Decimal("1e2"),
    "da": Decimal("1e1"),
    "d": Decimal("1e-1"),
    "c": Decimal("1e-2"),
    "m": Decimal("1e-3"),
    "u": Decimal("1e-6"),
    "n": Decimal("1e-9"),
    "p": Decimal("1e-12"),
}
_BASES = {"g": "g", "L": "L", "l": "L", "m": "m", "mol": "mol", "eq": "eq", "s": "s", "U": "U"}
_FIXED = {"min": ("s", Decimal(60)), "h": ("s", Decimal(3600)), "d": ("s", Decimal(86400))}


def _unit_factor(term: str) -> tuple[str, Decimal] | None:
    if term in _FIXED:
        return _FIXED[term]
    for base in sorted(_BASES, key=len, reverse=True):
        if term.endswith(base):
            prefix = term[: -len(base)]
            if prefix in _PREFIXES:
                return _BASES[base], _PREFIXES[prefix]
    return None


def canonical_unit(code: str) -> tuple[str, Decimal] | None:
    """``(canonical code, factor)`` so that ``value * factor`` is in the canonical code."""
    numerator, _, denominator = code.partition("/")
    top = _unit_factor(numerator)
    if top is None:
        return None
    if not denominator:
        return top
    bottom = _unit_factor(denominator)
    if bottom is None:
        return None
    return f"{top[0]}/{bottom[0]}", top[1] / bottom[1]


def canonical_quantity(value: Decimal, system: str | None, code: str | None) -> tuple[str, Decimal]:
    """The value in canonical units, or unchanged when the unit is not one we can convert."""
    if system == UCUM_SYSTEM and code:
        found = canonical_unit(code)
        if found is not None:
            return found[0], value * found[1]
    return code or "", value
