"""A shortcut for the commonest expressions: element paths walked straight over the JSON.

``Patient.name.given``, ``Observation.value.ofType(Quantity).value``,
``Bundle.entry.resource.ofType(Observation).count()``, ``name.where(use = 'official').given``:
when the R4 model fixes every step's
type (no untyped choice, a ``Resource`` step always narrowed by ``ofType``), the answer needs
no typed nodes, so :class:`~yteso.fhirpath.engine.CompiledExpression` walks the dicts and lists
directly. Anything unusual at run time (another resource type, a primitive's ``_name``
extension) falls back to the evaluator, which stays the reference.

This module recognises such paths (:func:`plain_path`); :mod:`yteso.fhirpath.plain_walks` turns
one into closures over the JSON, :mod:`yteso.fhirpath.plain_evaluator` combines them with
comparisons and ``and``/``or``.
"""

from __future__ import annotations

from dataclasses import dataclass

from yteso.fhir import definitions
from yteso.fhirpath import model
from yteso.fhirpath.nodes import Binary, Expression, FunctionCall, Identifier, Member, StringLiteral

TERMINALS = frozenset({"count", "exists", "empty", "first"})
MEMBER = "member"
RESOURCE = "resource"
WHERE = "where"  # keep items whose single string element equals a text
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


def one_step(path: PlainPath | None) -> tuple[str, str, str] | None:
    """(resource type, key, ``_key``) when the path is a single member step without terminal."""
    if path is None or path.terminal or len(path.prepared) != 1 or path.prepared[0][0] != MEMBER:
        return None
    return path.root, path.prepared[0][1], path.prepared[0][2]
