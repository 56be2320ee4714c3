"""Aggregates: aggregate() with ``$total``, and sum/min/max/avg of FHIRPath 2.1.

https://hl7.org/fhirpath/N1/#aggregates
"""

from __future__ import annotations

from decimal import Decimal
from functools import reduce

from yteso.fhirpath.context import Collection, Environment, Evaluator
from yteso.fhirpath.equality import compare
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.operators import calculate
from yteso.fhirpath.registry import function
from yteso.fhirpath.values import to_system


@function("aggregate", "ev", required=1)
def aggregate(
    items: Collection, env: Environment, aggregator: Evaluator, init: Collection | None = None
) -> Collection:
    saved_index, saved_total = env.index, env.total
    total: Collection = list(init or [])
    try:
        for index, item in enumerate(items):
            env.index, env.total = index, total
            total = aggregator([item], env)
    finally:
        env.index, env.total = saved_index, saved_total
    return total


@function("sum")
def sum_(items: Collection, env: Environment) -> Collection:
    if not items:
        return [0]
    return [reduce(lambda a, b: calculate("+", a, b), [to_system(i) for i in items])]


@function("min")
def min_(items: Collection, env: Environment) -> Collection:
    return _extreme(items, -1)


@function("max")
def max_(items: Collection, env: Environment) -> Collection:
    return _extreme(items, 1)


def _extreme(items: Collection, direction: int) -> Collection:
    best = None
    for value in (to_system(item) for item in items):
        if best is None or (compare(value, best) or 0) * direction > 0:
            best = value
    return [] if best is None else [best]


@function("avg")
def avg(items: Collection, env: Environment) -> Collection:
    if not items:
        return []
    total = sum_(items, env)[0]
    if isinstance(total, bool) or not isinstance(total, (int, Decimal)):
        raise FhirPathEvaluationError("avg() expects numbers")
    return [Decimal(total) / len(items)]
