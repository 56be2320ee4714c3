"""Views on PostgreSQL with native ``jsonb`` operators where the R4 definitions allow.

https://www.postgresql.org/docs/current/functions-json.html. The JSON compiler
(:mod:`yteso.fhirpath.sql`) treats every step as a collection (``jsonb_path_query_array`` of
``jsonb_build_array(...)``), which is general but costs a JSON path evaluation and an array per
step, and sends every cell back as a ``jsonb`` array for Python to decode. Most view paths step
through elements of cardinality 0..1 (``subject.reference``, ``code.coding.first().code``,
``value.ofType(Quantity).value``): with their R4 types and cardinalities known, such a path is a
chain of ``->`` and the cell is read with ``#>>`` and cast to its SQL type (text, double
precision, bigint, boolean), as hand-written SQL would. A path outside this subset (a step from
a collection, ``where``, comparisons, ...) is compiled by the JSON compiler for that column
alone: both read the same ``jsonb`` focus, so they mix freely in one query.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from yteso.fhirpath import model, nodes, parse
from yteso.fhirpath.sql import NotCompilable, literal_value
from yteso.warehouse.typed_paths import is_array_element, of_type_target, sql_string
from yteso.warehouse.view_definition import Column, View
from yteso.warehouse.view_sql import OutputColumn, ViewSqlCompiler

NUMBERS = {
    "decimal": "double precision",
    "integer": "bigint",
    "positiveInt": "bigint",
    "unsignedInt": "bigint",
    "integer64": "bigint",
}
EMPTY = "'[]'::jsonb"


@dataclass(frozen=True)
class PgValue:
    """``sql`` is ``jsonb`` (an array when ``many``), or text when ``text``."""

    sql: str
    type: str
    many: bool
    text: bool = False


class NativePaths:
    """FHIRPath -> ``jsonb`` operator chains for the 0..1 subset (else NotCompilable)."""

    def __init__(self) -> None:
        self.names = itertools.count(1)

    def value(self, node: nodes.Expression, focus: PgValue) -> PgValue:
        if isinstance(node, nodes.Identifier):
            if node.name == focus.type and not model.is_primitive(node.name):
                return focus
            return self.member(focus, node.name)
        if isinstance(node, nodes.Member):
            return self.member(self.value(node.source, focus), node.name)
        if isinstance(node, nodes.SpecialVariable) and node.name == "this":
            return focus
        if isinstance(node, nodes.Indexer):
            index = literal_value(node.index)
            source = self.value(node.source, focus)
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise NotCompilable("[] needs a non-negative integer")
            return self.item(source, index)
        if isinstance(node, nodes.FunctionCall):
            return self.function(node, focus)
        raise NotCompilable(f"{type(node).__name__} is outside the native jsonb subset")

    def item(self, source: PgValue, index: int) -> PgValue:
        if source.text:
            raise NotCompilable("an index into text")
        if not source.many:
            return source if index == 0 else PgValue("NULL::jsonb", source.type, False)
        return PgValue(f"({source.sql} -> {index})", source.type, False)

    def member(self, source: PgValue, key: str, choice: tuple[str, str] | None = None) -> PgValue:
        if source.many or source.text or model.is_primitive(source.type):
            raise NotCompilable(f"{key} of a collection or a primitive")
        if choice is None:
            found = model.child(source.type, key)
            if found is None or found.type is None:
                raise NotCompilable(f"{source.type}.{key} is unknown or a choice")
            type_name, definition_key = found.type, key
        else:
            type_name, definition_key = choice
        many = is_array_element(source.type, definition_key)
        return PgValue(f"({source.sql} -> {sql_string(key)})", type_name, many)

    def function(self, node: nodes.FunctionCall, focus: PgValue) -> PgValue:
        name, arguments = node.name, node.arguments
        if name == "ofType" and len(arguments) == 1:
            return self.of_type(node, focus)
        source = self.value(node.source, focus) if node.source is not None else focus
        if name == "first" and not arguments:
            return self.item(source, 0)
        if name == "getResourceKey" and not arguments:
            return self.member(source, "id")
        if name == "getReferenceKey" and len(arguments) == 1:
            target = arguments[0]
            if not isinstance(target, nodes.Identifier) or source.type != "Reference":
                raise NotCompilable("getReferenceKey(Type) of a Reference")
            reference = self.member(source, "reference")
            if reference.many:
                raise NotCompilable("getReferenceKey() of several references")
            pattern = sql_string(f"^{target.name}/([^/]+)(?:/_history/[^/]+)?$")
            return PgValue(
                f"substring({reference.sql} #>> '{{}}' FROM {pattern})", "string", False, True
            )
        if name == "join" and len(arguments) <= 1:
            separator = literal_value(arguments[0]) if arguments else ""
            if not isinstance(separator, str) or source.text or not model.is_primitive(source.type):
                raise NotCompilable("join() needs a literal separator and primitives")
            if not source.many:
                return PgValue(f"coalesce({source.sql} #>> '{{}}', '')", "string", False, True)
            alias = f"j{next(self.names)}"
            joined = (
                f"(SELECT coalesce(string_agg({alias}.v #>> '{{}}', {sql_string(separator)} "
                f"ORDER BY {alias}.n), '') FROM jsonb_array_elements(coalesce({source.sql}, "
                f"{EMPTY})) WITH ORDINALITY AS {alias}(v, n))"
            )
            return PgValue(joined, "string", False, True)
        raise NotCompilable(f"{name}() is outside the native jsonb subset")

    def of_type(self, node: nodes.FunctionCall, focus: PgValue) -> PgValue:
        type_name, origin = of_type_target(node)
        parent = self.value(origin.source, focus) if isinstance(origin, nodes.Member) else focus
        if parent.many or parent.text:
            raise NotCompilable("ofType() of a collection")
        found = model.child(parent.type, origin.name)
        if found is None or found.type is not None or type_name not in found.choices.values():
            raise NotCompilable(f"ofType({type_name}) of {origin.name}")
        key = origin.name + type_name[0].upper() + type_name[1:]
        return self.member(parent, key, (type_name, origin.name + "[x]"))


class PostgresViewSqlCompiler(ViewSqlCompiler):
    """The JSON compiler's query structure; column and forEach paths native where possible."""

    def __init__(self, view: View) -> None:
        super().__init__(view, "postgres")
        self.native = NativePaths()

    def native_value(self, source: str, focus: str, types: Any) -> PgValue:
        if not isinstance(types, frozenset) or len(types) != 1:
            raise NotCompilable("the focus has no single type")
        (type_name,) = types
        return self.native.value(parse(source), PgValue(focus, type_name, False))

    def collection(self, source: str, focus: str, types: Any) -> tuple[str, Any]:
        try:
            found = self.native_value(source, focus, types)
        except NotCompilable:
            return super().collection(source, focus, types)
        if found.text:
            return super().collection(source, focus, types)
        return _as_array(found), frozenset({found.type})

    def column_sql(self, column: Column, focus: str, types: Any) -> str:
        try:
            found = self.native_value(column.path.source, focus, types)
        except NotCompilable:
            return super().column_sql(column, focus, types)
        name = '"' + column.name.replace('"', '""') + '"'
        if column.collection:
            self.outputs[column.name] = OutputColumn(column.name, "list")
            listed = f"jsonb_build_array({found.sql})" if found.text else _as_array(found)
            if found.text:
                listed = f"CASE WHEN {found.sql} IS NULL THEN {EMPTY} ELSE {listed} END"
            return f"{listed} AS {name}"
        if found.many:
            self.outputs[column.name] = OutputColumn(column.name, "items")
            return f"coalesce({found.sql}, {EMPTY}) AS {name}"
        self.outputs[column.name] = OutputColumn(column.name, "value")
        if found.text:
            return f"{found.sql} AS {name}"
        if model.is_primitive(found.type):
            text = f"({found.sql} #>> '{{}}')"
            if found.type in NUMBERS:
                return f"CAST({text} AS {NUMBERS[found.type]}) AS {name}"
            if found.type == "boolean":
                return f"CAST({text} AS boolean) AS {name}"
            return f"{text} AS {name}"
        return f"{found.sql} AS {name}"  # a complex element: jsonb, decoded by the driver


def _as_array(found: PgValue) -> str:
    if found.many:
        return f"coalesce({found.sql}, {EMPTY})"
    return f"coalesce(jsonb_path_query_array({found.sql}, '$'), {EMPTY})"


def compile_postgres_view(view: View, source: str) -> Any:
    """The PostgreSQL query of ``view`` over ``source`` (a relation with ``resource`` jsonb)."""
    return PostgresViewSqlCompiler(view).compile(source)
