"""The one table of FHIRPath functions: name -> implementation, arity and argument kinds.

Argument kinds: ``v`` a value (evaluated once against the caller's ``$this``), ``e`` an
expression the function evaluates itself (per item, with ``$this``/``$index`` bound), ``t`` a
type specifier. Each spec-section module registers its functions with :func:`function`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from yteso.fhirpath.context import Collection

Implementation = Callable[..., Collection]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    implementation: Implementation
    kinds: str  # one letter per parameter: v, e or t
    required: int  # how many leading parameters are mandatory


FUNCTIONS: dict[str, FunctionSpec] = {}


def function(
    name: str, kinds: str = "", required: int | None = None
) -> Callable[[Implementation], Implementation]:
    """Register ``implementation(input, env, *arguments)`` under ``name``."""

    def register(implementation: Implementation) -> Implementation:
        FUNCTIONS[name] = FunctionSpec(
            name, implementation, kinds, len(kinds) if required is None else required
        )
        return implementation

    return register


def lookup(name: str) -> FunctionSpec | None:
    return FUNCTIONS.get(name)


def registered_names() -> list[str]:
    return sorted(FUNCTIONS)
