"""Direct Python verdicts for the common shapes of R4 invariants, read off the node's JSON.

https://hl7.org/fhir/R4/conformance-rules.html#constraints. Most R4 constraints are booleans of
existence tests on the node's own elements (cpt-2 ``value.empty() or system.exists()``, ref-1
``reference.exists() implies (reference.startsWith('#').not() or ...)``, dom-3 on a resource
without ``contained``, per-1 comparing two full dateTimes); through the evaluator each costs
3-80 µs per node, read directly well under 1 µs. A shortcut answers ``True``/``False`` only
where the JSON settles what the evaluator would answer, and ``None`` otherwise (odd data,
primitive extensions, shapes it does not know), so the evaluator runs. ``or``/``and``/
``implies`` are decided left to right as the evaluator short-circuits them, so an operand the
evaluator would not reach is never looked at. ``tests/fhirpath/test_invariant_shortcuts.py``
checks every verdict against the evaluator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from yteso.fhirpath import model
from yteso.fhirpath.nodes import Binary, Expression, FunctionCall, Identifier, Member, StringLiteral

#: The node's JSON -> the invariant's verdict, or None: ask the evaluator.
Shortcut = Callable[[Any], "bool | None"]

# Functions that give an empty result on an empty input without evaluating their arguments.
_EMPTY_PRESERVING: Final = frozenset(
    {"where", "select", "ofType", "trace", "first", "last", "tail", "distinct", "children"}
    | {"descendants", "repeat"}
)
_PRIMITIVES: Final = (str, bool, int, float, Decimal)
_INSTANT: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")
_DATE: Final = re.compile(r"\d{4}-\d\d-\d\d")
_DATE_TYPES: Final = frozenset({"date", "dateTime", "instant"})
_ORDER: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def shortcut(tree: Expression, type_name: str | None) -> Shortcut | None:
    """A direct verdict for ``tree`` evaluated on a node of ``type_name``, if its shape allows."""
    if type_name is None:
        return None
    return _compile(tree, type_name)


def _compile(tree: Expression, type_name: str) -> Shortcut | None:
    if isinstance(tree, Binary) and tree.operator in ("or", "and", "implies"):
        return _logic(tree, type_name)
    if isinstance(tree, Binary) and tree.operator in _ORDER:
        return _date_order(tree, type_name)
    if not isinstance(tree, FunctionCall) or tree.source is None:
        return None
    if tree.name == "not" and not tree.arguments:
        inner = _compile(tree.source, type_name)
        return None if inner is None else _negated(inner)
    if tree.name in ("exists", "empty") and not tree.arguments:
        present = _chain_presence(tree.source, type_name)
        return (
            None if present is None else (present if tree.name == "exists" else _negated(present))
        )
    if tree.name == "hasValue" and isinstance(tree.source, Identifier):
        return _has_value(type_name, tree.source.name)
    if tree.name == "startsWith" and isinstance(tree.source, Identifier):
        (argument,) = tree.arguments or (None,)
        if isinstance(argument, StringLiteral):
            return _starts_with(tree.source.name, argument.value)
    return None


def _negated(inner: Shortcut) -> Shortcut:
    def negated(data: Any) -> bool | None:
        verdict = inner(data)
        return None if verdict is None else not verdict

    return negated


def _logic(tree: Binary, type_name: str) -> Shortcut | None:
    left = _compile(tree.left, type_name)
    if left is None:
        return None  # the evaluator starts with the left operand: nothing can be decided
    right = _compile(tree.right, type_name) or (lambda data: None)
    # the left verdict that settles the whole expression, and what it settles it to
    settling, settled = {"or": (True, True), "and": (False, False), "implies": (False, True)}[
        tree.operator
    ]

    def logic(data: Any) -> bool | None:
        first = left(data)
        if first is None:
            return None
        return settled if first is settling else right(data)

    return logic


def _keys(type_name: str, name: str) -> tuple[str, ...] | None:
    """The JSON keys that hold element ``name`` of ``type_name`` (value and ``_`` companion)."""
    found = model.child(type_name, name)
    if found is None:
        return None  # not an element (a type name, a typo): the evaluator decides
    names = [name] if found.type is not None else [name + suffix for suffix in found.choices]
    return tuple(key for each in names for key in (each, "_" + each))


def _present(data: Any, keys: tuple[str, ...], complex_type: bool = False) -> bool | None:
    if type(data) is not dict:
        return None
    for key in keys:
        if key in data:
            value = data[key]
            if value is None or value == [] or value == {}:
                return None
            if complex_type and not _objects(value):
                return None  # a string where an object belongs: the evaluator sees no node
            return True
    return False


def _objects(value: Any) -> bool:
    if type(value) is list:
        return all(type(item) is dict for item in value)
    return type(value) is dict


def _is_complex(type_name: str, name: str) -> bool:
    found = model.child(type_name, name)
    return found is None or found.type is None or not model.is_primitive(found.type)


def _chain_presence(chain: Expression, type_name: str) -> Shortcut | None:
    """Whether ``chain`` (a path from the node) is non-empty: exact for member paths through
    single objects; for paths with filters, only when the first element is absent."""
    steps: list[Expression] = []
    while isinstance(chain, (Member, FunctionCall)) and chain.source is not None:
        if isinstance(chain, FunctionCall) and chain.name not in _EMPTY_PRESERVING:
            return None
        steps.append(chain)
        chain = chain.source
    if not isinstance(chain, Identifier):
        return None
    steps.reverse()
    members = [chain.name] + [step.name for step in steps if isinstance(step, Member)]
    if len(members) == len(steps) + 1:
        return _member_path(type_name, members)
    last = steps[-1]
    if len(members) == len(steps) and isinstance(last, FunctionCall) and last.name == "where":
        filtered = _filtered_path(type_name, members, last.arguments)
        if filtered is not None:
            return filtered
    keys = _keys(type_name, chain.name)
    if keys is None:
        return None
    return lambda data: None if _present(data, keys) is not False else False


def _member_path(type_name: str, names: list[str]) -> Shortcut | None:
    plan: list[tuple[str, tuple[str, ...], bool]] = []
    current: str | None = type_name
    for name in names:
        keys = _keys(current, name) if current else None
        if keys is None or current is None:
            return None
        plan.append((name, keys, _is_complex(current, name)))
        found = model.child(current, name) if current else None
        current = found.type if found is not None else None

    def present(data: Any) -> bool | None:
        for index, (name, keys, complex_type) in enumerate(plan):
            verdict = _present(data, keys, complex_type)
            if verdict is not True or index == len(plan) - 1:
                return verdict
            data = data.get(name)
            if type(data) is not dict:
                return None  # a list or a primitive with extensions: let the evaluator walk it
        return None

    return present


# String-valued primitive types: FHIRPath compares their values to a string literal exactly.
_STRING_TYPES: Final = frozenset({"string", "code", "uri", "url", "canonical", "id", "oid", "uuid"})


def _string_equalities(tree: Expression, type_name: str) -> list[tuple[str, str]] | None:
    """``a = 'x' and b = 'y'`` on string primitives of ``type_name``, as ``[(a, x), (b, y)]``."""
    if isinstance(tree, Binary) and tree.operator == "and":
        left = _string_equalities(tree.left, type_name)
        right = _string_equalities(tree.right, type_name)
        return None if left is None or right is None else left + right
    if not (
        isinstance(tree, Binary)
        and tree.operator == "="
        and isinstance(tree.left, Identifier)
        and isinstance(tree.right, StringLiteral)
    ):
        return None
    found = model.child(type_name, tree.left.name)
    if found is None or found.type not in _STRING_TYPES:
        return None
    return [(tree.left.name, tree.right.value)]


def _filtered_path(
    type_name: str, names: list[str], arguments: tuple[Expression, ...]
) -> Shortcut | None:
    """Whether ``a.b.where(c = 'x' and d = 'y')`` is non-empty, the member steps through
    complex elements (con-3: ``verificationStatus.coding.where(system = ... and code =
    'entered-in-error').empty()``): an item is kept when each named value is a string equal to
    its literal. Any other shape (primitive extensions, nulls, empty or misplaced values) goes
    to the evaluator."""
    if len(arguments) != 1:
        return None
    current = type_name
    for name in names:
        found = model.child(current, name)
        if found is None or found.type is None or model.is_primitive(found.type):
            return None
        current = found.type
    wanted = _string_equalities(arguments[0], current)
    if wanted is None:
        return None

    def filtered(data: Any) -> bool | None:
        if type(data) is not dict:
            return None
        items: list[Any] = [data]
        for name in names:
            below = _member_objects(items, name)
            if below is None:
                return None
            items = below
        for item in items:
            verdict = _string_values_equal(item, wanted)
            if verdict is not False:
                return verdict  # True: the item is kept; None: ask the evaluator
        return False

    return filtered


def _member_objects(items: list[Any], name: str) -> list[Any] | None:
    """The objects under ``name`` of each item, or None for a shape the evaluator must see."""
    found: list[Any] = []
    for item in items:
        if "_" + name in item:
            return None
        if name not in item:
            continue
        value = item[name]
        if type(value) is dict and value:
            found.append(value)
        elif type(value) is list and value:
            for each in value:
                if type(each) is not dict or not each:
                    return None
                found.append(each)
        else:
            return None
    return found


def _string_values_equal(item: dict[str, Any], wanted: list[tuple[str, str]]) -> bool | None:
    """Whether every named value is the string given (an absent one is not), None if odd."""
    kept = True
    for name, text in wanted:
        if "_" + name in item:
            return None
        if name not in item:
            kept = False
            continue
        value = item[name]
        if type(value) is not str:
            return None
        if value != text:
            kept = False
    return kept


def _has_value(type_name: str, name: str) -> Shortcut | None:
    found = model.child(type_name, name)
    if found is None or found.type is None or not model.is_primitive(found.type):
        return None

    def has_value(data: Any) -> bool | None:
        if type(data) is not dict or "_" + name in data:
            return None
        value = data.get(name)
        if value is None:
            return None if name in data else False
        return True if isinstance(value, _PRIMITIVES) else None

    return has_value


def _starts_with(name: str, prefix: str) -> Shortcut:
    def starts_with(data: Any) -> bool | None:
        if type(data) is not dict or "_" + name in data:
            return None
        value = data.get(name)
        return value.startswith(prefix) if type(value) is str else None

    return starts_with


def _date_order(tree: Binary, type_name: str) -> Shortcut | None:
    """``start <= end`` of two date/dateTime/instant elements written to the same precision
    (full dates, or seconds with a zone): then FHIRPath compares them as instants."""
    if not (isinstance(tree.left, Identifier) and isinstance(tree.right, Identifier)):
        return None
    names = (tree.left.name, tree.right.name)
    for name in names:
        found = model.child(type_name, name)
        if found is None or found.type not in _DATE_TYPES:
            return None
    compare = _ORDER[tree.operator]

    def order(data: Any) -> bool | None:
        if type(data) is not dict:
            return None
        first, second = data.get(names[0]), data.get(names[1])
        if type(first) is not str or type(second) is not str:
            return None
        if "_" + names[0] in data or "_" + names[1] in data:
            return None
        return _compare_dates(first, second, compare)

    return order


def _compare_dates(first: str, second: str, compare: Callable[[Any, Any], bool]) -> bool | None:
    try:
        if _DATE.fullmatch(first) and _DATE.fullmatch(second):
            date.fromisoformat(first), date.fromisoformat(second)  # real calendar days only
            return compare(first, second)
        one, other = _INSTANT.fullmatch(first), _INSTANT.fullmatch(second)
        if one is None or other is None or (one.group(1) is None) != (other.group(1) is None):
            return None
        return compare(datetime.fromisoformat(first), datetime.fromisoformat(second))
    except ValueError:
        return None  # 2024-02-30: the evaluator decides (it finds no date there)


def reference_1(data: Any) -> bool | None:
    """ref-1 (guarded, ``reference.exists() implies (reference.startsWith('#').not() or ...)``)
    on a Reference as the composed shortcut decides it, in one call: true without a
    ``reference``, true for one not starting with ``#``, None (the evaluator) otherwise.
    Every Reference of every resource is checked, so the ~5 nested calls showed."""
    if type(data) is not dict or "_reference" in data:
        return None
    if "reference" not in data:
        return True
    value = data["reference"]
    if type(value) is not str or value[:1] == "#":
        return None
    return True
