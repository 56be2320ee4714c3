"""The public entry points: ``compile(expression)`` and ``evaluate(resource, expression)``.

Compiled expressions are cached (LRU) by their text, so the hot paths (search-parameter
extraction, invariants) parse each expression once per process.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from yteso.fhir.types import Json
from yteso.fhirpath import strict as strict_mode
from yteso.fhirpath.compiler import Compiler
from yteso.fhirpath.context import Collection, Environment, Evaluator, Services
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.nodes import EnvironmentVariable, Expression, FunctionCall, SpecialVariable
from yteso.fhirpath.parser import parse
from yteso.fhirpath.plain_evaluator import plain_evaluator
from yteso.fhirpath.plain_paths import one_step, plain_path
from yteso.fhirpath.plain_walks import PlainEvaluator
from yteso.fhirpath.values import Node, resource_node

CACHE_SIZE = 4096
#: ``%name`` values: a single value or a list of values per name.
Variables = dict[str, object] | None


class CompiledExpression:
    """A parsed and compiled expression; call it with a resource (JSON) and variables."""

    __slots__ = (
        "checked",
        "evaluator",
        "plain_path",
        "shared_environment",
        "source",
        "strict",
        "tree",
    )

    def __init__(
        self, source: str, tree: Expression, evaluator: Evaluator, *, strict: bool = False
    ) -> None:
        self.source = source
        self.tree = tree
        self.evaluator = evaluator
        self.strict = strict
        self.checked: set[str | None] = set()  # context types strict mode has accepted
        # Expressions that never read %resource, $index, variables or services can share one
        # environment (functions still write $index into it, but nothing reads it back).
        self.shared_environment = None if reads_environment(tree) else Environment([])
        # strict mode checks the paths against the model first: no JSON shortcut there
        self.plain_path: PlainEvaluator | None = None if strict else plain_evaluator(tree)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r})"

    def __call__(
        self,
        resource: Json | Node | None,
        variables: Variables = None,
        *,
        services: Services | None = None,
    ) -> list[Any]:
        """The result as plain values: JSON for FHIR elements, System values otherwise."""
        try:
            if self.plain_path is not None and type(resource) is dict:  # inlined: the hot path
                found = self.plain_path(resource)
                if found is not None:
                    return found
            return self._plain_result(resource, variables, services)
        except _DATA_ERRORS as exc:
            raise self._failure(exc) from exc

    def _plain_result(
        self,
        resource: Json | Node | None,
        variables: dict[str, Any] | None,
        services: Services | None,
    ) -> list[Any]:
        if self.strict or type(resource) is not dict:
            items = self.evaluate_items(resource, variables, services)
        elif self.shared_environment is not None and not variables and not services:
            # nothing reads the environment: skip building one per call
            items = self.evaluator(
                [Node(resource, resource.get("resourceType"))], self.shared_environment
            )
        else:  # a resource as parsed JSON
            start: Collection = [Node(resource, resource.get("resourceType"))]
            items = self.evaluator(start, Environment(start, variables, services))
        return [item.data if type(item) is Node else item for item in items]

    def evaluate_items(
        self,
        resource: Json | Node | None,
        variables: Variables = None,
        services: Services | None = None,
        *,
        root: Json | None = None,
    ) -> Collection:
        """The raw result items (typed :class:`Node` values and System values)."""
        focus = resource if type(resource) is Node else resource_node(resource)
        if self.strict and focus.type not in self.checked:
            strict_mode.check(self.tree, focus.type)
            self.checked.add(focus.type)
        start: Collection = [] if resource is None else [focus]
        roots: Collection | None = None if root is None else [resource_node(root)]
        env = Environment(start, variables, services, root_resource=roots)
        return self.evaluate_in(start, env)

    def evaluate_in(self, focus: Collection, env: Environment) -> Collection:
        """Evaluate against an explicit focus and environment (invariants use this)."""
        try:
            return self.evaluator(focus, env)
        except _DATA_ERRORS as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> FhirPathEvaluationError:
        return FhirPathEvaluationError(f"{self.source}: cannot evaluate on this data ({exc!r})")


class OneStepExpression(CompiledExpression):
    """``Patient.birthDate``, ``Observation.subject`` (most search parameters): the JSON lookup
    is inlined in the call, which saves a closure call and the keyword handling of the general
    path (a fifth of the cost of such an evaluation)."""

    __slots__ = ("_key", "_root", "_shadow")

    def __init__(
        self, source: str, tree: Expression, evaluator: Evaluator, step: tuple[str, str, str]
    ) -> None:
        super().__init__(source, tree, evaluator)
        self._root, self._key, self._shadow = step

    def __call__(
        self,
        resource: Json | Node | None,
        variables: Variables = None,
        *,
        services: Services | None = None,
    ) -> list[Any]:
        # a path reads no variables or services; ``_key`` (a primitive's extensions) needs the
        # typed nodes of the general path
        if (
            type(resource) is dict
            and resource.get("resourceType") == self._root
            and self._shadow not in resource
        ):
            value = resource.get(self._key)
            if value is None:
                return []
            if type(value) is list:
                return [item for item in value if item is not None]
            return [value]
        return super().__call__(resource, variables, services=services)


# Python errors that malformed data (a number where an object belongs...) can cause deep inside
# a function; the caller sees them as the typed evaluation error.
_DATA_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError)

_ENVIRONMENT_FUNCTIONS = frozenset(
    {"resolve", "memberOf", "trace", "aggregate", "conformsTo", "htmlChecks", "defineVariable"}
    | {"subsumes", "subsumedBy"}  # ask the injected terminology service
    | {"now", "today", "timeOfDay"}  # one instant per evaluation, kept in the environment
)


def reads_environment(tree: Expression) -> bool:
    """Whether evaluating the tree may read the environment (variables, roots, services)."""
    if isinstance(tree, (EnvironmentVariable, SpecialVariable)):
        return not (isinstance(tree, SpecialVariable) and tree.name == "this")
    if isinstance(tree, FunctionCall) and tree.name in _ENVIRONMENT_FUNCTIONS:
        return True
    return any(
        reads_environment(value)
        for value in (getattr(tree, name) for name in tree.__dataclass_fields__)
        if isinstance(value, Expression)
    ) or any(
        reads_environment(argument)
        for argument in (tree.arguments if isinstance(tree, FunctionCall) else ())
    )


@lru_cache(maxsize=CACHE_SIZE)
def compile(expression: str, *, strict: bool = False) -> CompiledExpression:
    """Parse and compile once; raises FhirPathSyntaxError with line and column.

    ``strict`` also checks the paths against the R4 model before running (unknown elements,
    wrong resource types, ordered functions on unordered collections are errors).
    """
    tree = parse(expression)
    evaluator = Compiler(expression, strict=strict).compile(tree)
    step = None if strict else one_step(plain_path(tree))
    if step is not None:
        return OneStepExpression(expression, tree, evaluator, step)
    return CompiledExpression(expression, tree, evaluator, strict=strict)


def evaluate(
    resource: Json | Node | None,
    expression: str,
    variables: Variables = None,
    *,
    services: Services | None = None,
) -> list[Any]:
    """Evaluate ``expression`` against ``resource`` (FHIR JSON)."""
    return compile(expression)(resource, variables, services=services)
