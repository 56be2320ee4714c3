"""FHIRPath Patch: apply a ``Parameters`` body of add/insert/delete/replace/move operations.

https://hl7.org/fhir/R4/fhirpatch.html. Each ``operation`` parameter names a FHIRPath ``path``;
objects it selects are found in the resource by identity, primitives through the last step of
the path (``Patient.birthDate``, ``Patient.name[0].given[1]``). The input is never modified: the
result is a patched deep copy. Malformed parameters raise ``Invalid``; operations that cannot
apply to this resource (no match, several matches, bad index) raise ``Unprocessable``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from yteso.fhir import definitions
from yteso.fhir.errors import Invalid, Unprocessable
from yteso.fhir.types import Json
from yteso.fhirpath import model, nodes
from yteso.fhirpath.compiler import Compiler
from yteso.fhirpath.context import Environment
from yteso.fhirpath.engine import compile
from yteso.fhirpath.errors import FhirPathError
from yteso.fhirpath.values import Node, resource_node

OPERATION_TYPES = frozenset({"add", "insert", "delete", "replace", "move"})


@dataclass(frozen=True, slots=True)
class Location:
    """Where a selected value lives: ``container[key]`` or ``container[key][index]``."""

    container: dict[str, Any]
    key: str
    index: int | None


@dataclass(frozen=True, slots=True)
class Operation:
    type: str
    path: str
    name: str | None
    value: Any
    value_type: str | None  # the FHIR type of ``value`` (``date``, ``HumanName``) if typed
    index: int | None
    source: int | None
    destination: int | None


def apply_fhirpath_patch(resource: Json, parameters: Json) -> Json:
    """The resource with every operation of ``parameters`` applied, in order."""
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        raise Invalid("a FHIRPath Patch body must be a Parameters resource")
    patched = copy.deepcopy(resource)
    operations = parameters.get("parameter") or []
    if not isinstance(operations, list):
        raise Invalid("Parameters.parameter must be an array")
    for number, parameter in enumerate(operations):
        try:
            operation = _operation(parameter, number)
        except _MALFORMED as exc:
            raise Invalid(f"operation {number} is malformed: {exc!r}") from exc
        try:
            _APPLY[operation.type](patched, operation)
        except FhirPathError as exc:
            raise Invalid(f"operation {number}: {exc}", expression=operation.path) from None
        except _MALFORMED as exc:
            raise Unprocessable(
                f"operation {number} ({operation.type}) cannot apply: {exc!r}",
                expression=operation.path,
            ) from exc
    return patched


# What malformed parts (a string where a part list belongs...) can raise while being read.
_MALFORMED = (TypeError, ValueError, AttributeError, KeyError, IndexError)


# -- reading the Parameters ---------------------------------------------------------------
def _value_of(part: Json) -> tuple[Any, str | None, bool]:
    """(value, FHIR type, present) of a ``value[x]`` or anonymous ``part`` value."""
    for key, value in part.items():
        if key.startswith("value") and len(key) > 5 and key[5].isupper():
            suffix = key[5:]
            lowered = suffix[0].lower() + suffix[1:]
            return value, lowered if model.is_primitive(lowered) else suffix, True
    if "part" in part:
        return part["part"], None, True
    return None, None, False


def _operation(parameter: Any, number: int) -> Operation:
    if not isinstance(parameter, dict) or parameter.get("name") != "operation":
        raise Invalid(f"parameter {number} is not an 'operation'")
    parts: dict[str, Json] = {}
    for part in parameter.get("part") or ():
        if isinstance(part, dict) and isinstance(part.get("name"), str):
            parts[part["name"]] = part
    kind = _primitive(parts, "type", number)
    path = _primitive(parts, "path", number)
    if kind not in OPERATION_TYPES or not isinstance(path, str):
        raise Invalid(f"operation {number}: needs a type ({', '.join(sorted(OPERATION_TYPES))})")
    value, value_type, present = _value_of(parts.get("value", {}))
    if kind in ("add", "insert", "replace") and not present:
        raise Invalid(f"operation {number} ({kind}): a value is required")
    name = _primitive(parts, "name", number)
    if kind == "add" and not isinstance(name, str):
        raise Invalid(f"operation {number} (add): a name is required")
    return Operation(
        kind,
        path,
        name,
        value,
        value_type,
        _integer(parts, "index", number, required=kind == "insert"),
        _integer(parts, "source", number, required=kind == "move"),
        _integer(parts, "destination", number, required=kind == "move"),
    )


def _primitive(parts: dict[str, Json], name: str, number: int) -> Any:
    value, _, _ = _value_of(parts.get(name, {}))
    return value


def _integer(parts: dict[str, Json], name: str, number: int, *, required: bool) -> int | None:
    value = _primitive(parts, name, number)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"operation {number}: {name} must be a non-negative integer")
    return value


# -- finding what a path selects ------------------------------------------------------------
def _select(resource: Json, path: str) -> list[Any]:
    return compile(path).evaluate_items(resource)


def _find_object(tree: Any, target: dict[str, Any]) -> Location | None:
    if isinstance(tree, dict):
        for key, value in tree.items():
            if value is target:
                return Location(tree, key, None)
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if item is target:
                        return Location(tree, key, index)
            found = _find_object(value, target)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for item in tree:
            found = _find_object(item, target)
            if found is not None:
                return found
    return None


def _subtree(resource: Json, path: str, tree: nodes.Expression) -> list[Any]:
    evaluator = Compiler(path).compile(tree)
    start = [resource_node(resource)]
    return evaluator(start, Environment(start))


def _key_in(container: dict[str, Any], type_name: str | None, name: str) -> str | None:
    if name in container or "_" + name in container:
        return name
    found = model.child(type_name, name) if type_name else None
    if found is not None and found.type is None:
        for suffix in found.choices:
            if name + suffix in container:
                return name + suffix
    return None


def _member_locations(resource: Json, path: str, tree: nodes.Member) -> list[Location]:
    locations: list[Location] = []
    for parent in _subtree(resource, path, tree.source):
        if type(parent) is not Node or not isinstance(parent.data, dict):
            continue
        key = _key_in(parent.data, parent.type, tree.name)
        if key is None:
            continue
        value = parent.data.get(key)
        if isinstance(value, list):
            locations.extend(Location(parent.data, key, i) for i in range(len(value)))
        else:
            locations.append(Location(parent.data, key, None))
    return locations


def _primitive_locations(resource: Json, path: str) -> list[Location]:
    tree = compile(path).tree
    if isinstance(tree, nodes.Member):
        return _member_locations(resource, path, tree)
    if (
        isinstance(tree, nodes.Indexer)
        and isinstance(tree.source, nodes.Member)
        and isinstance(tree.index, nodes.NumberLiteral)
        and isinstance(tree.index.value, int)
    ):
        all_locations = _member_locations(resource, path, tree.source)
        index = tree.index.value
        return all_locations[index : index + 1]
    raise Unprocessable(f"cannot locate the primitive values selected by {path}")


def _locate(resource: Json, path: str) -> list[Location]:
    selected = _select(resource, path)
    if not selected:
        return []
    if all(type(item) is Node and isinstance(item.data, dict) for item in selected):
        found = [_find_object(resource, item.data) for item in selected]
        return [location for location in found if location is not None]
    return _primitive_locations(resource, path)


def _single(resource: Json, operation: Operation) -> Location | None:
    locations = _locate(resource, operation.path)
    if len(locations) > 1:
        raise Unprocessable(
            f"{operation.type}: {operation.path} matches {len(locations)} elements, not one",
            expression=operation.path,
        )
    return locations[0] if locations else None


# -- building values ----------------------------------------------------------------------
def _json_value(operation: Operation, owner_type: str | None, name: str) -> Any:
    if operation.value_type is not None or not isinstance(operation.value, list):
        return operation.value
    return _anonymous(operation.value, _child_type(owner_type, name))


def _child_type(owner_type: str | None, name: str) -> str | None:
    """The type of ``owner_type.name``: a datatype (``Extension``, ``HumanName``) or a backbone
    element path (``Patient.contact``); None for a choice or an unknown element."""
    found = model.child(owner_type, name) if owner_type else None
    return found.type if found is not None else None


def _anonymous(parts: list[Json], type_name: str | None) -> Json:
    """An anonymous complex value (``part`` children) of type ``type_name`` as JSON: arrays
    where the model says, choice elements named by their value's type (``valueString``)."""
    out: Json = {}
    for part in parts:
        name = part.get("name")
        if not isinstance(name, str):
            raise Invalid("an anonymous value part needs a name")
        value, value_type, _ = _value_of(part)
        if value_type is None and isinstance(value, list):
            value = _anonymous(value, _child_type(type_name, name))
        key = _choice_key(type_name, name, value_type)
        element = definitions.element(f"{type_name}.{name}") if type_name else None
        if element is not None and element.is_array:
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out


def _choice_key(owner_type: str | None, name: str, value_type: str | None) -> str:
    found = model.child(owner_type, name) if owner_type else None
    if found is not None and found.type is None and value_type is not None:
        return name + value_type[0].upper() + value_type[1:]
    return name


# -- the operations -----------------------------------------------------------------------
def _add(resource: Json, operation: Operation) -> None:
    targets = _select(resource, operation.path)
    if not targets:
        raise Unprocessable(f"No content found at {operation.path} when adding")
    if len(targets) > 1:
        raise Unprocessable(f"add: {operation.path} matches {len(targets)} elements, not one")
    target = targets[0]
    if type(target) is not Node or not isinstance(target.data, dict):
        raise Unprocessable(f"add: {operation.path} is not an element that can have children")
    assert operation.name is not None
    key = _choice_key(target.type, operation.name, operation.value_type)
    value = _json_value(operation, target.type, operation.name)
    element = definitions.element(f"{target.type}.{operation.name}") if target.type else None
    if element is not None and element.is_array:
        target.data.setdefault(key, []).append(value)
    else:
        target.data[key] = value


def _list_of(resource: Json, operation: Operation) -> tuple[dict[str, Any], str, list[Any]]:
    locations = _locate(resource, operation.path)
    if not locations:
        tree = compile(operation.path).tree
        if isinstance(tree, nodes.Member):
            parents = _subtree(resource, operation.path, tree.source)
            if len(parents) == 1 and type(parents[0]) is Node:
                return parents[0].data, tree.name, parents[0].data.setdefault(tree.name, [])
        raise Unprocessable(f"{operation.type}: nothing found at {operation.path}")
    first = locations[0]
    if first.index is None or any(loc.container is not first.container for loc in locations):
        raise Unprocessable(f"{operation.type}: {operation.path} is not a single list")
    return first.container, first.key, first.container[first.key]


def _insert(resource: Json, operation: Operation) -> None:
    container, key, items = _list_of(resource, operation)
    index = operation.index or 0
    if index > len(items):
        raise Unprocessable(f"insert: index {index} is beyond the {len(items)} items")
    items.insert(index, _json_value(operation, None, key))
    container[key] = items


def _move(resource: Json, operation: Operation) -> None:
    _, _, items = _list_of(resource, operation)
    source, destination = operation.source or 0, operation.destination or 0
    if source >= len(items) or destination >= len(items):
        raise Unprocessable(f"move: index out of range for {len(items)} items")
    items.insert(destination, items.pop(source))


def _delete(resource: Json, operation: Operation) -> None:
    location = _single(resource, operation)
    if location is None:
        return  # deleting what is not there changes nothing
    container, key = location.container, location.key
    if location.index is None:
        container.pop(key, None)
        container.pop("_" + key, None)
        _prune(resource)
        return
    del container[key][location.index]
    companion = container.get("_" + key)
    if isinstance(companion, list) and location.index < len(companion):
        del companion[location.index]
    if not container[key]:
        del container[key]
        container.pop("_" + key, None)
    _prune(resource)


def _prune(value: Any) -> bool:
    """Drop objects and arrays a delete left empty (FHIR has no empty elements); True if empty."""
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if _prune(v)]:
            del value[key]
        return not value
    if isinstance(value, list):
        value[:] = [item for item in value if item is None or not _prune(item)]
        return not value
    return False


def _replace(resource: Json, operation: Operation) -> None:
    location = _single(resource, operation)
    if location is None:
        raise Unprocessable(f"replace: nothing found at {operation.path}")
    value = _json_value(operation, None, location.key)
    if location.index is None:
        location.container[location.key] = value
    else:
        location.container[location.key][location.index] = value


_APPLY = {
    "add": _add,
    "insert": _insert,
    "delete": _delete,
    "replace": _replace,
    "move": _move,
}
