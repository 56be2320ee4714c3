"""Subsetting: single, first, last, tail, skip, take, intersect, exclude.

https://hl7.org/fhirpath/N1/#subsetting
"""

from __future__ import annotations

from yteso.fhirpath.context import Collection, Environment, integer_argument, single
from yteso.fhirpath.equality import contains, distinct
from yteso.fhirpath.registry import function


@function("single")
def single_(items: Collection, env: Environment) -> Collection:
    item = single(items, "single()")
    return [] if item is None else [item]


@function("first")
def first(items: Collection, env: Environment) -> Collection:
    return items[:1]


@function("last")
def last(items: Collection, env: Environment) -> Collection:
    return items[-1:]


@function("tail")
def tail(items: Collection, env: Environment) -> Collection:
    return items[1:]


@function("skip", "v")
def skip(items: Collection, env: Environment, num: Collection) -> Collection:
    count = integer_argument(num, "skip()")
    if count is None:
        return []
    return items[max(count, 0) :]


@function("take", "v")
def take(items: Collection, env: Environment, num: Collection) -> Collection:
    count = integer_argument(num, "take()")
    if count is None or count <= 0:
        return []
    return items[:count]


@function("intersect", "v")
def intersect(items: Collection, env: Environment, other: Collection) -> Collection:
    return distinct([item for item in items if contains(other, item)])


@function("exclude", "v")
def exclude(items: Collection, env: Environment, other: Collection) -> Collection:
    return [item for item in items if not contains(other, item)]
