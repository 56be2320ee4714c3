"""Combining: union (deduplicating) and combine (keeping duplicates).

https://hl7.org/fhirpath/N1/#combining
"""

from __future__ import annotations

from yteso.fhirpath.context import Collection, Environment
from yteso.fhirpath.equality import distinct
from yteso.fhirpath.registry import function


@function("union", "v")
def union(items: Collection, env: Environment, other: Collection) -> Collection:
    return distinct(items + other)


@function("combine", "v")
def combine(items: Collection, env: Environment, other: Collection) -> Collection:
    return items + other
