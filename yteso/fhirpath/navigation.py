"""Tree navigation: children() and descendants().

https://hl7.org/fhirpath/N1/#tree-navigation
"""

from __future__ import annotations

from yteso.fhirpath.context import Collection, Environment
from yteso.fhirpath.paths import child_nodes, descendant_nodes
from yteso.fhirpath.registry import function
from yteso.fhirpath.values import Node


@function("children")
def children(items: Collection, env: Environment) -> Collection:
    out: Collection = []
    for item in items:
        if type(item) is Node:
            out.extend(child_nodes(item))
    return out


@function("descendants")
def descendants(items: Collection, env: Environment) -> Collection:
    return descendant_nodes(items)
