"""Path navigation over FHIR JSON, typed by the R4 definitions.

https://hl7.org/fhirpath/N1/#path-selection and https://hl7.org/fhir/R4/json.html#primitive:
``Observation.value`` finds ``valueQuantity`` (typed ``Quantity``); a primitive's ``_name``
companion rides along on the node so ``extension()``/``hasValue()`` see it; ``given: [null, "x"]``
with ``_given: [{...}, null]`` yields two nodes, the first without a value.
"""

from __future__ import annotations

from typing import Any

from yteso.fhirpath import model
from yteso.fhirpath.context import Collection
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.values import Node

_RESOURCE = "Resource"


def _emit(value: Any, extra: Any, type_name: str | None, out: Collection) -> None:
    if type(value) is list:
        extras = extra if type(extra) is list else ()
        for index, item in enumerate(value):
            element = extras[index] if index < len(extras) else None
            if item is None and element is None:
                continue
            out.append(Node(item, _resolved(type_name, item), element))
    elif value is not None or extra is not None:
        out.append(Node(value, _resolved(type_name, value), extra))


def _resolved(type_name: str | None, value: Any) -> str | None:
    if type_name == _RESOURCE or (type_name is None and type(value) is dict):
        if type(value) is dict:
            kind = value.get("resourceType")
            if isinstance(kind, str):
                return kind
    return type_name


def _emit_resources(value: Any, out: Collection) -> None:
    """Children typed ``Resource`` (``contained``, ``Bundle.entry.resource``) get their own type."""
    for item in value if type(value) is list else (value,):
        if type(item) is dict:
            out.append(Node(item, item.get("resourceType")))


_PRIMITIVE_CHILDREN = frozenset({"id", "extension"})


def _primitive_child(element: Any, name: str, out: Collection) -> None:
    """``birthDate.extension``/``.id``: a primitive's children live in its ``_name`` object."""
    if type(element) is dict:
        _emit(element.get(name), None, "Extension" if name == "extension" else "string", out)


class Plan:
    """How to read one element name off one parent type (computed once per pair)."""

    __slots__ = ("choice_keys", "choices", "simple", "type")

    def __init__(
        self, type_name: str | None, choices: dict[str, str] | None, name: str = ""
    ) -> None:
        self.type = type_name
        self.choices = choices
        # (JSON key, its ``_`` companion, type code) for each type a choice element allows
        self.choice_keys = tuple(
            (name + suffix, "_" + name + suffix, code) for suffix, code in (choices or {}).items()
        )
        # a plain element of a known, fixed type: the navigator's inlined fast path
        self.simple = choices is None and type_name not in (None, _RESOURCE)


_UNTYPED = Plan(None, None)


def plan(parent_type: str | None, name: str) -> Plan:
    if parent_type is None:
        return _UNTYPED
    found = model.child(parent_type, name)
    if found is not None:
        return Plan(found.type, found.choices or None, name)
    if model.choice_key(parent_type, name) is not None:
        raise FhirPathEvaluationError(
            f"{parent_type}.{name} is not an element name: choice elements are named without "
            "their type suffix in FHIRPath"
        )
    return _UNTYPED


def read(node: Node, name: str, step: Plan, out: Collection) -> None:
    """Append the children called ``name`` of one node."""
    data = node.data
    if step.choices is not None:
        for key, shadow, code in step.choice_keys:
            if key in data or shadow in data:
                _emit(data.get(key), data.get(shadow), code, out)
                return
        return
    value = data.get(name)
    extra = data.get("_" + name)
    if value is None and extra is None:
        if step.type is None and node.type is None:
            _read_untyped_choice(data, name, out)
        return
    _emit(value, extra, step.type, out)


def _read_untyped_choice(data: dict[str, Any], name: str, out: Collection) -> None:
    size = len(name)
    for key, value in data.items():
        if len(key) > size and key.startswith(name) and key[size].isupper():
            suffix = key[size:]
            lowered = suffix[0].lower() + suffix[1:]
            type_name = lowered if model.is_primitive(lowered) else suffix
            _emit(value, data.get("_" + key), type_name, out)
            return


class Navigator:
    """``focus.name`` for one name, with the per-parent-type plan cached."""

    __slots__ = ("name", "plans", "shadow")

    def __init__(self, name: str) -> None:
        self.name = name
        self.shadow = "_" + name
        self.plans: dict[str | None, Plan] = {}

    def __call__(self, items: Collection) -> Collection:
        out: Collection = []
        name, shadow, plans = self.name, self.shadow, self.plans
        for item in items:
            if type(item) is not Node:
                continue
            data = item.data
            if type(data) is not dict:
                if item.element is not None and name in _PRIMITIVE_CHILDREN:
                    _primitive_child(item.element, name, out)
                continue
            step = plans.get(item.type)
            if step is None:
                step = plans[item.type] = plan(item.type, name)
            if not step.simple:
                if step.type == _RESOURCE and shadow not in data:
                    _emit_resources(data.get(name), out)
                else:
                    read(item, name, step, out)
                continue
            value = data.get(name)
            extra = data.get(shadow)
            if extra is not None:
                _emit(value, extra, step.type, out)
            elif type(value) is list:
                child_type = step.type
                out.extend([Node(v, child_type) for v in value if v is not None])
            elif value is not None:
                out.append(Node(value, step.type))
        return out


class ChoiceNavigator:
    """``focus.name.ofType(T)``: read only ``nameT`` where ``name`` is a choice element, and
    keep only the resources of type ``T`` where ``name`` is typed ``Resource`` (``contained``,
    ``Bundle.entry.resource``), testing ``resourceType`` before wrapping anything."""

    __slots__ = ("generic", "keys", "name", "wanted")

    def __init__(self, name: str, wanted: str) -> None:
        self.name = name
        self.wanted = wanted
        self.generic = Navigator(name)
        # per parent type: (JSON key, its ``_`` companion, whether typed Resource), or None
        self.keys: dict[str | None, tuple[str, str, bool] | None] = {}

    def __call__(self, items: Collection) -> Collection | None:
        """The typed children, or None when some parent is neither kind of owner."""
        out: Collection = []
        wanted = self.wanted
        for item in items:
            if type(item) is not Node or type(item.data) is not dict:
                continue
            if item.type not in self.keys:
                self.keys[item.type] = self._keys(item.type)
            keys = self.keys[item.type]
            if keys is None:
                return None
            key, shadow, resources = keys
            data = item.data
            if resources:
                if shadow in data:
                    return None  # the generic navigator attaches the companion
                value = data.get(key)
                for found in value if type(value) is list else (value,):
                    if type(found) is dict and found.get("resourceType") == wanted:
                        out.append(Node(found, wanted))
                continue
            value, extra = data.get(key), data.get(shadow)
            if value is not None or extra is not None:
                _emit(value, extra, wanted, out)
        return out

    def _keys(self, parent_type: str | None) -> tuple[str, str, bool] | None:
        step = self.generic.plans.get(parent_type) or plan(parent_type, self.name)
        if step.type == _RESOURCE and model.is_resource_type(self.wanted):
            return self.name, "_" + self.name, True
        if step.choices is not None and self.wanted in step.choices.values():
            key = self.name + self.wanted[0].upper() + self.wanted[1:]
            return key, "_" + key, False
        return None


def child_nodes(node: Node) -> Collection:
    """Every child of a node, in document order (``children()``)."""
    data = node.data
    out: Collection = []
    if type(data) is not dict:
        return out
    for key, value in data.items():
        if key == "resourceType":
            continue
        if key.startswith("_"):
            if key[1:] not in data:
                _emit(None, value, _child_type(node, key[1:]), out)
            continue
        _emit(value, data.get("_" + key), _child_type(node, key), out)
    return out


def _child_type(node: Node, key: str) -> str | None:
    if node.type is None:
        return None
    found = model.child(node.type, key)
    if found is not None:
        return found.type
    choice = model.choice_key(node.type, key)
    return choice[1] if choice else None


def descendant_nodes(items: Collection) -> Collection:
    out: Collection = []
    frontier = [item for item in items if type(item) is Node]
    while frontier:
        following: Collection = []
        for item in frontier:
            following.extend(child_nodes(item))
        out.extend(following)
        frontier = following
    return out
