"""Run a view in Python through the FHIRPath evaluator: the reference the SQL engines match.

https://sql-on-fhir.org/ig/latest/StructureDefinition-ViewDefinition.html#processing-algorithm
(the processing algorithm, followed literally: rows of a select are the cross product of its
columns, its nested selects and its unionAll; forEach/forEachOrNull/repeat iterate the focus).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.fhirpath import FhirPathError, Node, Quantity, Temporal
from yteso.fhirpath import compile as compile_path
from yteso.warehouse.view_definition import ROW_INDEX, Path, Select, View

Row = dict[str, Any]


class PythonViewRunner:
    """Rows of one view, resource by resource."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.constants = {
            name: Node(constant.value, constant.type) for name, constant in view.constants.items()
        }

    def rows(self, resources: Iterable[Json]) -> Iterator[Row]:
        for resource in resources:
            if resource.get("resourceType") != self.view.resource:
                continue
            focus = Node(resource, self.view.resource)
            if all(self._where(path, focus, resource) for path in self.view.where):
                yield from self._select(self.view.root, focus, 0, resource)

    def _where(self, path: Path, focus: Node, resource: Json) -> bool:
        items = self._evaluate(path, focus, 0, resource)
        if not items:
            return False
        values = [_plain(item) for item in items]
        if len(values) != 1 or not isinstance(values[0], bool):
            raise Invalid(f"where path {path.source!r} is not a boolean", expression="where")
        return values[0]

    def _evaluate(self, path: Path, focus: Node | None, index: int, resource: Json) -> list[Any]:
        compiled = compile_path(path.source)
        variables = {**self.constants, ROW_INDEX: index}
        try:
            return compiled.evaluate_items(focus, variables, root=resource)
        except FhirPathError as error:
            raise Invalid(f"{compiled.source}: {error}") from error

    def _select(self, select: Select, focus: Node | None, index: int, resource: Json) -> list[Row]:
        if select.iterate is None:
            return self._body(select, focus, index, resource)
        if select.iterate == "repeat":
            items = self._repeat(select, focus, resource)
        else:
            items = self._evaluate(select.paths[0], focus, index, resource)
        rows: list[Row] = []
        for position, item in enumerate(items):
            rows.extend(self._body(select, _as_node(item), position, resource))
        if not items and select.iterate == "forEachOrNull":
            # one row of nulls, though %rowIndex is still 0 in it
            empty = self._body(select, None, 0, resource) or [{}]
            rows.extend({**dict.fromkeys(select.column_names()), **row} for row in empty)
        return rows

    def _repeat(self, select: Select, focus: Node | None, resource: Json) -> list[Any]:
        """Every node reached by following the repeat paths any number of times, pre-order."""
        found: list[Any] = []

        def visit(node: Node | None) -> None:
            for path in select.paths:
                for item in self._evaluate(path, node, 0, resource):
                    found.append(item)
                    visit(_as_node(item))

        visit(focus)
        return found

    def _body(self, select: Select, focus: Node | None, index: int, resource: Json) -> list[Row]:
        own: Row = {}
        for column in select.columns:
            items = self._evaluate(column.path, focus, index, resource)
            values = [_plain(item) for item in items]
            if column.collection:
                own[column.name] = values
            elif len(values) > 1:
                raise Invalid(
                    f"column {column.name} has {len(values)} values and is not a collection",
                    expression=column.path.source,
                )
            else:
                own[column.name] = values[0] if values else None
        parts: list[list[Row]] = [[own]]
        parts.extend(self._select(child, focus, index, resource) for child in select.selects)
        if select.union_all:
            parts.append(
                [
                    row
                    for branch in select.union_all
                    for row in self._select(branch, focus, index, resource)
                ]
            )
        return [_merge(combination) for combination in itertools.product(*parts)]


def _merge(rows: tuple[Row, ...]) -> Row:
    merged: Row = {}
    for row in rows:
        merged.update(row)
    return merged


def _as_node(item: Any) -> Node:
    return item if type(item) is Node else Node(item, None)


def _plain(item: Any) -> Any:
    """A collection item as a JSON value."""
    if type(item) is Node:
        item = item.data
    if isinstance(item, bool):
        return item
    if isinstance(item, Decimal):
        return (
            int(item) if item == item.to_integral_value() and "." not in str(item) else float(item)
        )
    if isinstance(item, (Temporal, Quantity)):
        return str(item)
    return item
