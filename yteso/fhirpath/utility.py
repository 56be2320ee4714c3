"""Utility and reflection functions: trace, now, today, timeOfDay, not, type, is, as, sort.

https://hl7.org/fhirpath/N1/#utility-functions, #boolean-logic (``not``), #types-and-reflection;
``sort`` is from FHIRPath 2.1 (the R4 test suite uses it): a leading ``-`` on a key sorts it
descending.
"""

from __future__ import annotations

from functools import cmp_to_key
from typing import Any

from yteso.fhirpath import temporal
from yteso.fhirpath.context import Collection, Environment, Evaluator, single, string_input, truth
from yteso.fhirpath.equality import compare
from yteso.fhirpath.nodes import TypeSpecifier
from yteso.fhirpath.registry import function
from yteso.fhirpath.type_checks import matches, type_info
from yteso.fhirpath.values import plain


@function("trace", "ve", required=1)
def trace(
    items: Collection, env: Environment, name: Collection, projection: Evaluator | None = None
) -> Collection:
    label = string_input(name, "trace()") or ""
    shown = projection(items, env) if projection else items
    env.services.tracer(label, [plain(item) for item in shown])
    return items


@function("now")
def now(items: Collection, env: Environment) -> Collection:
    return [env.now()]


@function("today")
def today(items: Collection, env: Environment) -> Collection:
    moment = env.now()
    return [temporal.Temporal(temporal.DATE, moment.parts[:3])]


@function("timeOfDay")
def time_of_day(items: Collection, env: Environment) -> Collection:
    return [temporal.Temporal(temporal.TIME, env.now().parts[temporal.HOUR :])]


@function("not")
def not_(items: Collection, env: Environment) -> Collection:
    value = truth(items, "not()")
    return [] if value is None else [not value]


@function("type")
def type_(items: Collection, env: Environment) -> Collection:
    return [type_info(item) for item in items]


@function("is", "t")
def is_(items: Collection, env: Environment, spec: TypeSpecifier) -> Collection:
    item = single(items, "is()")
    return [] if item is None else [matches(item, spec, exact=False)]


@function("as", "t")
def as_(items: Collection, env: Environment, spec: TypeSpecifier) -> Collection:
    item = single(items, "as()")
    return [item] if item is not None and matches(item, spec, exact=True) else []


SortKey = tuple[Evaluator, bool]  # (key expression, descending)


@function("sort", "s" * 8, required=0)
def sort(items: Collection, env: Environment, *keys: SortKey) -> Collection:
    if not keys:
        return sorted(items, key=cmp_to_key(_compare_items))
    rows = [(item, [key([item], env) for key, _ in keys]) for item in items]

    def compare_rows(left: tuple[Any, Collection], right: tuple[Any, Collection]) -> int:
        for (_, descending), a, b in zip(keys, left[1], right[1], strict=True):
            if not a or not b:  # empty keys come first in either direction
                order = (len(a) > 0) - (len(b) > 0)
            else:
                order = _compare_items(a[0], b[0]) * (-1 if descending else 1)
            if order:
                return order
        return 0

    return [row[0] for row in sorted(rows, key=cmp_to_key(compare_rows))]


def _compare_items(a: Any, b: Any) -> int:
    return compare(a, b) or 0
