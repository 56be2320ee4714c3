"""Filtering and projection: where, select, repeat, ofType.

https://hl7.org/fhirpath/N1/#filtering-and-projection
"""

from __future__ import annotations

from yteso.fhirpath.context import Collection, Environment, Evaluator, truth
from yteso.fhirpath.equality import contains
from yteso.fhirpath.nodes import TypeSpecifier
from yteso.fhirpath.registry import function
from yteso.fhirpath.type_checks import matches


@function("where", "e")
def where(items: Collection, env: Environment, criteria: Evaluator) -> Collection:
    out: Collection = []
    saved = env.index
    try:
        for index, item in enumerate(items):
            env.index = index
            if truth(criteria([item], env), "where()") is True:
                out.append(item)
    finally:
        env.index = saved
    return out


@function("select", "e")
def select(items: Collection, env: Environment, projection: Evaluator) -> Collection:
    out: Collection = []
    saved = env.index
    try:
        for index, item in enumerate(items):
            env.index = index
            out.extend(projection([item], env))
    finally:
        env.index = saved
    return out


@function("repeat", "e")
def repeat(items: Collection, env: Environment, projection: Evaluator) -> Collection:
    out: Collection = []
    frontier = items
    while frontier:
        following: Collection = []
        for item in frontier:
            for found in projection([item], env):
                if not contains(out, found):
                    out.append(found)
                    following.append(found)
        frontier = following
    return out


@function("ofType", "t")
def of_type(items: Collection, env: Environment, spec: TypeSpecifier) -> Collection:
    return [item for item in items if matches(item, spec, exact=True)]
