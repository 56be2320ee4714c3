"""A shortcut for the commonest expressions: element paths walked straight over the JSON.

``Patient.name.given``, ``Observation.value.ofType(Quantity).value``,
``Bundle.entry.resource.ofType(Observation).count()``, ``name.where(use = 'official').given``:
when the R4 model fixes every step's
type (no untyped choice, a ``Resource`` step always narrowed by ``ofType``), the answer needs
no typed nodes, so :class:`~yteso.fhirpath.engine.CompiledExpression` walks the dicts and lists
directly. Anything unusual at run time (another resource type, a primitive's ``_name``
extension) falls back to the evaluator, which stays the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from yteso.fhir import definitions
from yteso.fhirpath import model
from yteso.fhirpath.equality import compare
from yteso.fhirpath.errors import FhirPathError
from yteso.fhirpath.nodes import (
    Binary,
    DateTimeLiteral,
    Expression,
    FunctionCall,
    Identifier,
    Member,
    NumberLiteral,
    StringLiteral,
)
from yteso.fhirpath.operators import LOGIC
from yteso.fhirpath.temporal import parse_literal
from yteso.fhirpath.values import Node

TERMINALS = frozenset({"count", "exists", "empty", "first"})
MEMBER = "member"
RESOURCE = "resource"
WHERE = "where"  # keep items whose single string element equals a text
_NUMBER_TYPES = frozenset(
    name
    for name, system in model.PRIMITIVE_SYSTEM_TYPES.items()
    if system in ("Integer", "Decimal")
)
_STRING_TYPES = frozenset(
    name for name, system in model.PRIMITIVE_SYSTEM_TYPES.items() if system == "String"
)


@dataclass(frozen=True, slots=True)
class PlainPath:
    root: str  # the resource type the expression starts from
    # (MEMBER, JSON key), (RESOURCE, resource type) or (WHERE, JSON key, text)
    steps: tuple[tuple[str, ...], ...]
    terminal: str | None  # count | exists | empty | first, applied last
    leaf_type: str  # the FHIR type of the values the steps reach

    # the steps as (kind, key, ``_key``, text), so the walk builds no strings
    prepared: tuple[tuple[str, str, str, str], ...] = ()

    def __post_init__(self) -> None:
        prepared = tuple(
            (step[0], step[1], "_" + step[1], step[2] if len(step) > 2 else "")
            for step in self.steps
        )
        object.__setattr__(self, "prepared", prepared)


def _type_argument(call: FunctionCall) -> str | None:
    if len(call.arguments) != 1:
        return None
    argument = call.arguments[0]
    if isinstance(argument, Identifier):
        return argument.name
    if isinstance(argument, Member) and isinstance(argument.source, Identifier):
        return argument.name if argument.source.name == "FHIR" else None
    return None


def _where_test(call: FunctionCall) -> tuple[str, str] | None:
    """``where(key = 'text')`` as (key, text), else None."""
    if len(call.arguments) != 1:
        return None
    test = call.arguments[0]
    if isinstance(test, Binary) and test.operator == "=":
        if isinstance(test.left, Identifier) and isinstance(test.right, StringLiteral):
            return test.left.name, test.right.value
    return None


def _chain(tree: Expression) -> tuple[Expression, list[tuple[str, ...]]] | None:
    chain: list[tuple[str, ...]] = []
    while True:
        if isinstance(tree, FunctionCall) and tree.name == WHERE and tree.source is not None:
            test = _where_test(tree)
            if test is None:
                return None
            chain.append((WHERE, *test))
            tree = tree.source
        elif isinstance(tree, Member):
            chain.append(("member", tree.name))
            tree = tree.source
        elif isinstance(tree, FunctionCall) and tree.name == "ofType" and tree.source is not None:
            wanted = _type_argument(tree)
            if wanted is None:
                return None
            chain.append(("ofType", wanted))
            tree = tree.source
        else:
            chain.reverse()
            return tree, chain


def plain_path(tree: Expression) -> PlainPath | None:
    terminal = None
    if isinstance(tree, FunctionCall) and tree.name in TERMINALS and tree.source is not None:
        if tree.arguments:
            return None
        terminal, tree = tree.name, tree.source
    found = _chain(tree)
    if found is None:
        return None
    root, chain = found
    if not isinstance(root, Identifier) or not chain or not model.is_resource_type(root.name):
        return None
    found_steps = _steps(root.name, chain)
    if found_steps is None:
        return None
    steps, leaf_type = found_steps
    return PlainPath(root.name, steps, terminal, leaf_type)


def _single_string(type_name: str, key: str) -> bool:
    child = model.child(type_name, key)
    if child is None or child.type not in _STRING_TYPES:
        return False
    element = definitions.element(f"{type_name}.{key}")
    return element is not None and not element.is_array


def _steps(
    type_name: str, chain: list[tuple[str, ...]]
) -> tuple[tuple[tuple[str, ...], ...], str] | None:
    steps: list[tuple[str, ...]] = []
    index = 0
    while index < len(chain):
        kind, name = chain[index][:2]
        if kind == WHERE:
            if not _single_string(type_name, name):
                return None
            steps.append(chain[index])
            index += 1
            continue
        following = chain[index + 1] if index + 1 < len(chain) else None
        narrowed = following[1] if following and following[0] == "ofType" else None
        if kind == "ofType":
            if name != type_name:
                return None
            index += 1
            continue
        child = model.child(type_name, name)
        if child is None:
            return None
        if child.type is None:  # a choice: only with ofType naming one of its types
            if narrowed is None or narrowed not in child.choices.values():
                return None
            steps.append((MEMBER, name + narrowed[0].upper() + narrowed[1:]))
            type_name, index = narrowed, index + 2
        elif child.type == "Resource":
            if narrowed is None or not model.is_resource_type(narrowed):
                return None
            steps += [(MEMBER, name), (RESOURCE, narrowed)]
            type_name, index = narrowed, index + 2
        else:
            steps.append((MEMBER, name))
            type_name, index = child.type, index + 1
    return tuple(steps), type_name


Step = Callable[[list[Any]], "list[Any] | None"]


def walker(path: PlainPath) -> PlainEvaluator:
    """The path as one closure over per-step closures: the plain result, or None to fall back
    to the evaluator."""
    root, terminal, prepared = path.root, path.terminal, path.prepared
    steps = _step_functions(prepared)
    # A first member step that feeds another member step reads the resource directly, and its
    # list is passed on as it is: the next step only reads it.
    direct = len(prepared) > 1 and prepared[0][0] == MEMBER and prepared[1][0] == MEMBER
    first_key, first_shadow = prepared[0][1], prepared[0][2]
    if direct:
        steps = steps[1:]

    def walk(resource: dict[str, Any]) -> list[Any] | None:
        if resource.get("resourceType") != root:
            return None
        if direct:
            if first_shadow in resource:
                return None
            value = resource.get(first_key)
            items = value if type(value) is list else [] if value is None else [value]
        else:
            items = [resource]
        for step in steps:
            found = step(items)
            if found is None:
                return None
            items = found
        if terminal is None:
            return items
        if terminal == "count":
            return [len(items)]
        if terminal == "first":
            return items[:1]
        return [bool(items)] if terminal == "exists" else [not items]

    return walk


def _step_functions(prepared: tuple[tuple[str, str, str, str], ...]) -> tuple[Step, ...]:
    steps: list[Step] = []
    index = 0
    while index < len(prepared):
        kind, name, shadow, text = prepared[index]
        following = prepared[index + 1][:2] if index + 1 < len(prepared) else ("", "")
        if kind == MEMBER and following[0] == RESOURCE:
            steps.append(_resources_step(name, following[1]))
            index += 2
            continue
        if kind == MEMBER:
            steps.append(_member_step(name, shadow, keep_nulls=following[0] == MEMBER))
        else:
            steps.append(_where_step(name, shadow, text))
        index += 1
    return tuple(steps)


def _member_step(name: str, shadow: str, *, keep_nulls: bool) -> Step:
    """``keep_nulls``: a step whose output only feeds another member step copies lists whole
    (that step skips the ``null`` items of FHIR JSON arrays anyway)."""

    def member(items: list[Any]) -> list[Any] | None:
        found: list[Any] = []
        for data in items:
            if type(data) is not dict:
                continue
            if shadow in data:  # a primitive's extensions: only typed nodes carry them
                return None
            value = data.get(name)
            if type(value) is list:
                found += value if keep_nulls else [item for item in value if item is not None]
            elif value is not None:
                found.append(value)
        return found

    return member


def _resources_step(name: str, wanted: str) -> Step:
    """A ``Resource`` element narrowed by ``ofType(<resource type>)`` (``entry.resource``,
    ``contained``): test ``resourceType`` on the JSON, wrap nothing. No ``_name`` check: a
    companion object could only add value-less nodes, and ``ofType`` drops those."""

    def resources(items: list[Any]) -> list[Any]:
        found: list[Any] = []
        for data in items:
            if type(data) is not dict:
                continue
            value = data.get(name)
            if type(value) is dict:
                if value.get("resourceType") == wanted:
                    found.append(value)
            elif type(value) is list:
                found += [v for v in value if type(v) is dict and v.get("resourceType") == wanted]
        return found

    return resources


def resource_count(path: PlainPath) -> PlainEvaluator | None:
    """``<path>.<Resource element>.ofType(<type>).count()``, as in
    ``Bundle.entry.resource.ofType(Observation).count()``: one counting loop, no list of
    resources built. Over bundles held in memory the walk is bound by memory latency (four
    or five cold objects per entry), so every other touch per entry counts."""
    prepared = path.prepared
    if path.terminal != "count" or len(prepared) < 2 or prepared[-1][0] != RESOURCE:
        return None
    root, name, wanted = path.root, prepared[-2][1], prepared[-1][1]
    counter, general = _resource_counter(name, wanted), _resources_step(name, wanted)
    if len(prepared) == 3 and prepared[0][0] == MEMBER:  # Bundle.entry, Parameters.parameter
        key, shadow = prepared[0][1], prepared[0][2]

        def count_below(resource: dict[str, Any]) -> list[Any] | None:
            if resource.get("resourceType") != root or shadow in resource:
                return None
            value = resource.get(key)
            if type(value) is not list:
                value = [] if value is None else [value]
            found = 0
            for data in value:  # _resource_counter's loop, inlined: ~8% on in-memory bundles
                try:
                    if data[name]["resourceType"] == wanted:
                        found += 1
                except KeyError:
                    pass
                except TypeError:
                    found += len(general([data]) or ())
            return [found]

        return count_below
    prefix = (
        walker(PlainPath(root, path.steps[:-2], None, path.leaf_type))
        if len(prepared) > 2
        else None
    )

    def count(resource: dict[str, Any]) -> list[Any] | None:
        if prefix is None:
            return [counter([resource])] if resource.get("resourceType") == root else None
        items = prefix(resource)
        return None if items is None else [counter(items)]

    return count


def _resource_counter(name: str, wanted: str) -> Callable[[list[Any]], int]:
    """How many ``item[name]`` are resources of type ``wanted``; the same answer as
    ``len(_resources_step(name, wanted)(items))``, with subscripts instead of type tests on the
    common shape (an object holding an object)."""
    general = _resources_step(name, wanted)

    def counter(items: list[Any]) -> int:
        found = 0
        for data in items:
            try:
                if data[name]["resourceType"] == wanted:
                    found += 1
            except KeyError:  # no such element, or a resource without resourceType
                pass
            except TypeError:  # not an object holding an object (a list, null, text...)
                found += len(general([data]) or ())
        return found

    return counter


def _where_step(name: str, shadow: str, text: str) -> Step:
    def where(items: list[Any]) -> list[Any] | None:
        for data in items:
            if type(data) is not dict or shadow in data or type(data.get(name, "")) is not str:
                return None
        return [data for data in items if data.get(name) == text]

    return where


PlainEvaluator = Callable[[dict[str, Any]], "list[Any] | None"]
_ORDER_TESTS: dict[str, Callable[[int], bool]] = {
    "<": lambda order: order < 0,
    "<=": lambda order: order <= 0,
    ">": lambda order: order > 0,
    ">=": lambda order: order >= 0,
}


def plain_evaluator(tree: Expression) -> PlainEvaluator | None:
    """A JSON-walking evaluator for paths, their comparisons with a literal, and and/or of
    those; None when the expression has another shape. The evaluator itself returns None
    whenever the data calls for the full engine."""
    whole = plain_path(tree)
    if whole is not None:
        step = one_step(whole)
        if step is not None:
            return _one_step(*step)
        return resource_count(whole) or walker(whole)
    if isinstance(tree, Binary) and tree.operator in ("and", "or"):
        left, right = plain_evaluator(tree.left), plain_evaluator(tree.right)
        if left is None or right is None:
            return None
        return _logic(left, right, LOGIC[tree.operator], tree.operator == "or")
    if isinstance(tree, Binary) and tree.operator in _ORDER_TESTS:
        path = plain_path(tree.left)
        constant = _constant(tree.right)
        if path is None or path.terminal is not None or constant is None:
            return None
        return _comparison(path, constant, _ORDER_TESTS[tree.operator])
    return None


def one_step(path: PlainPath | None) -> tuple[str, str, str] | None:
    """(resource type, key, ``_key``) when the path is a single member step without terminal."""
    if path is None or path.terminal or len(path.prepared) != 1 or path.prepared[0][0] != MEMBER:
        return None
    return path.root, path.prepared[0][1], path.prepared[0][2]


def _one_step(root: str, name: str, shadow: str) -> PlainEvaluator:
    """``Patient.birthDate``, ``Observation.subject``: most search parameters look like this."""

    def one_step(resource: dict[str, Any]) -> list[Any] | None:
        if resource.get("resourceType") != root or shadow in resource:
            return None
        value = resource.get(name)
        if value is None:
            return []
        if type(value) is list:
            return [item for item in value if item is not None]
        return [value]

    return one_step


def _constant(tree: Expression) -> Any:
    if isinstance(tree, NumberLiteral):
        return tree.value
    if isinstance(tree, DateTimeLiteral):
        return parse_literal(tree.text)
    return None


def _logic(
    left: PlainEvaluator,
    right: PlainEvaluator,
    operator: Callable[[list[Any], list[Any]], list[Any]],
    deciding: bool,
) -> PlainEvaluator:
    decided = [deciding]  # ``true or x`` / ``false and x``: the left side decides

    def logic(resource: dict[str, Any]) -> list[Any] | None:
        a = left(resource)
        if a is None:
            return None
        if len(a) == 1 and a[0] is deciding:
            return decided
        b = right(resource)
        return None if b is None else operator(a, b)

    return logic


def _comparison(path: PlainPath, constant: Any, test: Callable[[int], bool]) -> PlainEvaluator:
    leaf_type, walk = path.leaf_type, walker(path)
    # a number element against a number literal: Python compares int, float and Decimal exactly
    numeric = leaf_type in _NUMBER_TYPES and type(constant) in (int, Decimal)

    def comparison(resource: dict[str, Any]) -> list[Any] | None:
        values = walk(resource)
        if not values:
            return values  # None (fall back) or [] (empty compares to empty)
        if len(values) > 1:
            return None  # the engine raises the proper error
        value = values[0]
        if numeric and type(value) in (int, float, Decimal):
            return [test((value > constant) - (value < constant))]
        try:
            order = compare(Node(values[0], leaf_type), constant)
        except FhirPathError:
            return None
        return [] if order is None else [test(order)]

    return comparison
