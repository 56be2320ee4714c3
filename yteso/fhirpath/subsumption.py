"""``subsumes()`` and ``subsumedBy()``: R4's terminology functions on Coding and CodeableConcept.

https://hl7.org/fhir/R4/fhirpath.html#functions. ``A.subsumes(B)`` is true when a Coding of A
equals or subsumes (is an ancestor of) a Coding of B; ``subsumedBy`` is the converse. Like
``memberOf()``, the answer comes from the injected terminology service
(``Services(subsumption=...)``); without one only equal codes are known to subsume each other.
A pair of codes of one system the service cannot place gives empty (unknown). Codes of
different systems are related only through the service: when no pair shares a system and the
service relates none, the spec asks for an error.
"""

from __future__ import annotations

from typing import Any

from yteso.fhirpath.context import Collection, Environment, single
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.registry import function
from yteso.fhirpath.values import Node

Coding = tuple[str | None, str]
_CODED = frozenset({"Coding", "CodeableConcept"})


def codings(item: Any, what: str) -> list[Coding]:
    """The (system, code) pairs of a Coding or CodeableConcept node."""
    if type(item) is not Node or not isinstance(item.data, dict) or item.type not in _CODED:
        raise FhirPathEvaluationError(f"{what} applies to a Coding or CodeableConcept")
    data = item.data
    entries = data.get("coding") if "coding" in data else [data]
    pairs: list[Coding] = []
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("code"), str):
            system = entry.get("system")
            pairs.append((system if isinstance(system, str) else None, entry["code"]))
    return pairs


def _pair(ancestor: Coding, descendant: Coding, env: Environment) -> bool | None:
    if ancestor == descendant:
        return True
    check = env.services.subsumption
    if check is None:
        return None
    return check(ancestor[0], ancestor[1], descendant[0], descendant[1])


def _subsumes(source: Collection, given: Collection, env: Environment, what: str) -> Collection:
    ancestor_item, descendant_item = single(source, what), single(given, what)
    if ancestor_item is None or descendant_item is None:
        return []
    ancestors, descendants = codings(ancestor_item, what), codings(descendant_item, what)
    unknown = related = False
    for ancestor in ancestors:
        for descendant in descendants:
            answer = _pair(ancestor, descendant, env)
            if answer is True:
                return [True]
            same_system = ancestor[0] == descendant[0]
            related |= same_system or answer is not None
            unknown |= answer is None and same_system
    if ancestors and descendants and not related:
        raise FhirPathEvaluationError(f"{what}: no known relation between the code systems")
    return [] if unknown or not ancestors or not descendants else [False]


@function("subsumes", "v")
def subsumes(items: Collection, env: Environment, code: Collection) -> Collection:
    return _subsumes(items, code, env, "subsumes()")


@function("subsumedBy", "v")
def subsumed_by(items: Collection, env: Environment, code: Collection) -> Collection:
    # A.subsumedBy(B) is B.subsumes(A); ``what`` keeps the caller's name in errors
    return _subsumes(code, items, env, "subsumedBy()")
