"""The walks of a :class:`~yteso.fhirpath.plain_paths.PlainPath` over FHIR JSON: one closure per
step, the first step read off the resource, and one counting loop for
``<path>.<Resource element>.ofType(T).count()``. Each returns the plain result, or None when
the data calls for the full evaluator (a primitive's ``_name`` extensions, another resource type).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from yteso.fhirpath.plain_paths import MEMBER, RESOURCE, PlainPath

PlainEvaluator = Callable[[dict[str, Any]], "list[Any] | None"]
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
