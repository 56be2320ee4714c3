"""Existence functions: empty, exists, all, allTrue..., subsetOf, count, distinct.

https://hl7.org/fhirpath/N1/#existence
"""

from __future__ import annotations

from yteso.fhirpath.context import Collection, Environment, Evaluator, truth
from yteso.fhirpath.equality import contains, distinct
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.registry import function
from yteso.fhirpath.values import to_system


@function("empty")
def empty(items: Collection, env: Environment) -> Collection:
    return [not items]


@function("exists", "e", required=0)
def exists(items: Collection, env: Environment, criteria: Evaluator | None = None) -> Collection:
    if criteria is None:
        return [bool(items)]
    return [any(_each(items, env, criteria))]


@function("all", "e")
def all_(items: Collection, env: Environment, criteria: Evaluator) -> Collection:
    return [all(_each(items, env, criteria))]


def _each(items: Collection, env: Environment, criteria: Evaluator) -> list[bool]:
    saved = env.index
    results: list[bool] = []
    try:
        for index, item in enumerate(items):
            env.index = index
            results.append(truth(criteria([item], env), "criteria") is True)
    finally:
        env.index = saved
    return results


def _booleans(items: Collection, name: str) -> list[bool]:
    values = [to_system(item) for item in items]
    if not all(isinstance(value, bool) for value in values):
        raise FhirPathEvaluationError(f"{name}() expects a collection of booleans")
    return values


@function("allTrue")
def all_true(items: Collection, env: Environment) -> Collection:
    return [all(_booleans(items, "allTrue"))]


@function("anyTrue")
def any_true(items: Collection, env: Environment) -> Collection:
    return [any(_booleans(items, "anyTrue"))]


@function("allFalse")
def all_false(items: Collection, env: Environment) -> Collection:
    return [not any(_booleans(items, "allFalse"))]


@function("anyFalse")
def any_false(items: Collection, env: Environment) -> Collection:
    return [not all(_booleans(items, "anyFalse"))]


@function("subsetOf", "v")
def subset_of(items: Collection, env: Environment, other: Collection) -> Collection:
    return [all(contains(other, item) for item in items)]


@function("supersetOf", "v")
def superset_of(items: Collection, env: Environment, other: Collection) -> Collection:
    return [all(contains(items, item) for item in other)]


@function("count")
def count(items: Collection, env: Environment) -> Collection:
    return [len(items)]


@function("distinct")
def distinct_(items: Collection, env: Environment) -> Collection:
    return distinct(items)


@function("isDistinct")
def is_distinct(items: Collection, env: Environment) -> Collection:
    return [len(distinct(items)) == len(items)]
