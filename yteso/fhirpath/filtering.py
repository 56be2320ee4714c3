"""Filtering and projection: where, select, repeat, ofType.

https://hl7.org/fhirpath/N1/#filtering-and-projection
"""

from __future__ import annotations

from yteso.fhirpath.context import Collection, Environment, Evaluator, truth
from yteso.fhirpath.equality import contains
from yteso.fhirpath.nodes import TypeSpecifier
from yteso.fhirpath.registry import function
from yteso.fhirpath.type_checks import matches
from yteso.fhirpath.values import Node


@function("where", "e")
def where(items: Collection, env: Environment, criteria: Evaluator) -> Collection:
    out: Collection = []
    saved = env.index
    try:
        for index, item in enumerate(items):
            env.index = index
            result = criteria([item], env)
            if result and (result[0] is True if len(result) == 1 else truth(result, "where()")):
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
    name = spec.name
    if spec.namespace == "System":
        return [item for item in items if matches(item, spec, exact=True)]
    return [
        item
        for item in items
        if (item.type == name if item.type is not None else matches(item, spec, exact=True))
        if type(item) is Node
    ] + [item for item in items if type(item) is not Node and matches(item, spec, exact=True)]
