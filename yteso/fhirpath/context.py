"""The evaluation environment and the collection conventions every function shares.

https://hl7.org/fhirpath/N1/#singleton-evaluation-of-collections and
https://hl7.org/fhir/R4/fhirpath.html#variables (``%resource``, ``%rootResource``, ``%context``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.temporal import Temporal, now_local
from yteso.fhirpath.values import Node, to_system

Collection = list[Any]
#: A compiled expression: (the ``$this`` collection, the environment) -> result collection.
Evaluator = Callable[[Collection, "Environment"], Collection]
#: Finds the resource a reference points to (``resolve()``), or None.
Resolver = Callable[[str], "dict[str, Any] | None"]
#: Answers ``memberOf()``: (code system or None, code, value set URL) -> in the set or None.
TerminologyCheck = Callable[[str | None, str, str], "bool | None"]
#: Answers ``subsumes()``/``subsumedBy()``, the terminology service's other question:
#: (system, code, other system, other code) -> whether the first code subsumes the second
#: (is it or an ancestor of it), or None when unknown.
SubsumptionCheck = Callable[[str | None, str, str | None, str], "bool | None"]
#: Answers ``conformsTo()``: (the element, profile URL) -> conforms, or None for an unknown
#: profile (which is an error). Default: ``yteso.fhirpath.profiles.conforms_to_core_profile``.
ProfileCheck = Callable[[Node, str], "bool | None"]
#: Receives ``trace()`` output: (name, collection).
Tracer = Callable[[str, Collection], None]


def _no_trace(name: str, items: Collection) -> None:
    """The default tracer drops the output: tracing is for debugging, not for logs."""


@dataclass(slots=True)
class Services:
    """Injectable collaborators: reference resolution, terminology, profiles, tracing."""

    resolver: Resolver | None = None
    terminology: TerminologyCheck | None = None
    subsumption: SubsumptionCheck | None = None
    tracer: Tracer = field(default=_no_trace)
    profiles: ProfileCheck | None = None


DEFAULT_SERVICES = Services()
_NO_VARIABLES: dict[str, object] = {}
_NOTHING: Collection = []


class Environment:
    """Per-evaluation state: the roots, user variables, and ``$index``/``$total``."""

    __slots__ = (
        "context",
        "index",
        "moment",
        "resource",
        "root_resource",
        "services",
        "total",
        "variables",
    )

    def __init__(
        self,
        resource: Collection,
        variables: dict[str, object] | None = None,
        services: Services | None = None,
        *,
        root_resource: Collection | None = None,
        context: Collection | None = None,
    ) -> None:
        self.resource = resource
        self.root_resource = resource if root_resource is None else root_resource
        self.context = resource if context is None else context
        self.variables = variables or _NO_VARIABLES
        self.services = services or DEFAULT_SERVICES
        self.index: int | None = None
        self.total: Collection = _NOTHING
        # now() is one instant for the whole evaluation (read on first use)
        self.moment: Temporal | None = None

    def now(self) -> Temporal:
        if self.moment is None:
            self.moment = now_local()
        return self.moment


def single(items: Collection, what: str) -> Any:
    """The only item, None for an empty collection, an error for more than one."""
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathEvaluationError(f"{what} expects a single item, got {len(items)}")
    return items[0]


def single_value(items: Collection, what: str) -> Any:
    """The System value of the only item (None when empty)."""
    item = single(items, what)
    return None if item is None else to_system(item)


def truth(items: Collection, what: str = "a boolean test") -> bool | None:
    """Singleton evaluation as a boolean: empty -> None, one non-boolean item -> True."""
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathEvaluationError(f"{what} expects a single boolean, got {len(items)} items")
    value = items[0]
    if value is True or value is False:
        return value
    value = to_system(value)
    if isinstance(value, bool):
        return value
    return None if value is None else True


def boolean_operand(items: Collection, operator: str) -> bool | None:
    return truth(items, f"operator {operator}")


def string_input(items: Collection, what: str) -> str | None:
    value = single_value(items, what)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FhirPathEvaluationError(f"{what} applies to a string, not {_kind(value)}")
    return value


def integer_argument(items: Collection, what: str) -> int | None:
    value = single_value(items, what)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FhirPathEvaluationError(f"{what} expects an integer argument")
    return value


def _kind(value: Any) -> str:
    if type(value) is Node:
        return value.type or "a FHIR element"
    return type(value).__name__


def wrap(value: Any) -> Collection:
    return [] if value is None else [value]
