"""FHIRPath to DuckDB SQL over typed columns: the fast path for views over NDJSON.

https://duckdb.org/docs/data/json/loading_json (``read_ndjson`` with ``columns``) and
https://sql-on-fhir.org/ig/latest/ (FHIRPath subset). Instead of walking JSON text at every
step, the compiler records each element a view touches (:class:`Shape`, typed and with its
cardinality from the R4 definitions), DuckDB parses the resources once into those STRUCT and
LIST columns, and paths become struct field and list operations. A value is a scalar (nullable)
while every step is 0..1, else a LIST. Anything outside this subset raises NotCompilable and the
view compiles through the JSON compiler instead.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from yteso.fhir import definitions
from yteso.fhir.errors import Invalid
from yteso.fhirpath import model, nodes
from yteso.fhirpath.sql import NotCompilable, is_boolean_tree, literal_value
from yteso.fhirpath.sql_boundaries import (
    boundary_digits,
    boundary_sql,
    boundary_type,
    result_type,
)
from yteso.warehouse.view_definition import ROW_INDEX
from yteso.warehouse.view_sql import SQL_TYPES

_PLAIN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?")
ARITHMETIC = frozenset({"+", "-", "*", "/"})
NUMERIC_TYPES = frozenset({"decimal", "integer", "positiveInt", "unsignedInt", "integer64"})
COMPARISON_SQL = {"=": "=", "!=": "<>", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


@dataclass
class Shape:
    """The part of a FHIR type a view reads: which children, of what type, how many."""

    type: str
    children: dict[str, tuple[Shape, bool]] = field(default_factory=dict)
    path: tuple[str, ...] = ()  # the keys from the resource, naming the element
    raw: bool = False  # a number read as its JSON text (its precision matters: boundaries)

    def child(self, key: str, type_name: str, many: bool) -> Shape:
        if key not in self.children:
            self.children[key] = (Shape(type_name, path=(*self.path, key)), many)
        return self.children[key][0]

    def sql_type(self) -> str:
        if self.raw:
            return "VARCHAR"
        if model.is_primitive(self.type):
            return SQL_TYPES.get(self.type, "VARCHAR")
        if not self.children:
            return "JSON"  # only tested for presence (``name.exists()``): kept as JSON text
        fields = ", ".join(
            f'"{key}" {shape.sql_type()}{"[]" if many else ""}'
            for key, (shape, many) in sorted(self.children.items())
        )
        return f"STRUCT({fields})"


@dataclass(frozen=True)
class Value:
    """A compiled collection: ``sql`` is a LIST when ``many`` is true, else a nullable scalar."""

    sql: str
    shape: Shape
    many: bool
    text: str | None = None  # for a raw number: its JSON text (``sql`` is then the number)


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def is_array_element(parent: str, key: str) -> bool:
    found = definitions.element(f"{parent}.{key}")
    if found is None:
        if key == "extension":
            return True
        raise NotCompilable(f"{parent}.{key} is not in the R4 definitions")
    return bool(found.is_array)


class TypedPathCompiler:
    """Compiles paths of one view against typed columns, growing the view's :class:`Shape`."""

    def __init__(
        self,
        resource_type: str,
        constants: dict[str, object],
        raw: frozenset[tuple[str, ...]] = frozenset(),
    ) -> None:
        self.root = Shape(resource_type)
        self.constants = constants
        self.row_index = "0"
        self.names = itertools.count(1)
        self.raw = raw  # numbers to read as text: a second compilation, see wants_raw
        self.wants_raw: set[tuple[str, ...]] = set()  # decimals whose boundaries need text

    # -- collections ---------------------------------------------------------------------------
    def value(self, node: nodes.Expression, focus: Value) -> Value:
        if isinstance(node, nodes.Identifier):
            if node.name == focus.shape.type:
                return focus
            return self.member(focus, node.name)
        if isinstance(node, nodes.Member):
            return self.member(self.value(node.source, focus), node.name)
        if isinstance(node, nodes.SpecialVariable) and node.name == "this":
            return focus
        if isinstance(node, nodes.EnvironmentVariable) and node.name == ROW_INDEX:
            return Value(self.row_index, Shape("integer"), False)
        if isinstance(node, nodes.FunctionCall):
            return self.function(node, focus)
        if isinstance(node, nodes.Indexer):
            index = self.literal(node.index)
            source = self.value(node.source, focus)
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                raise NotCompilable("[] needs a non-negative integer")
            if not source.many:
                return source if index == 0 else Value("NULL", source.shape, False)
            return Value(f"({source.sql})[{index + 1}]", source.shape, False)
        if is_boolean_tree(node):
            return Value(self.boolean(node, focus), Shape("boolean"), False)
        if isinstance(node, nodes.Binary) and node.operator in ARITHMETIC:
            return self.arithmetic(node, focus)
        literal = self.literal(node)
        if literal is not None:
            return self.constant(literal)
        raise NotCompilable(f"{type(node).__name__} is outside the typed subset")

    def arithmetic(self, node: nodes.Binary, focus: Value) -> Value:
        """``a + b`` on numbers (empty when a side is empty, or for ``x / 0``)."""
        sides = []
        for side in (node.left, node.right):
            literal = self.literal(side)
            value = self.constant(literal) if literal is not None else self.value(side, focus)
            if value.shape.type not in NUMERIC_TYPES:
                raise NotCompilable("arithmetic in SQL is on numbers only")
            sides.append(self.scalar_of(value))
        left, right = sides
        if node.operator == "/":
            right = f"nullif({right}, 0)"
        return Value(f"({left} {node.operator} {right})", Shape("decimal"), False)

    def constant(self, literal: object) -> Value:
        if isinstance(literal, bool):
            return Value("TRUE" if literal else "FALSE", Shape("boolean"), False)
        if isinstance(literal, (int, float)):
            kind = "integer" if isinstance(literal, int) else "decimal"
            return Value(repr(literal), Shape(kind), False)
        return Value(sql_string(str(literal)), Shape("string"), False)

    def literal(self, node: nodes.Expression) -> object:
        if isinstance(node, nodes.EnvironmentVariable) and node.name != ROW_INDEX:
            if node.name not in self.constants:
                raise NotCompilable(f"%{node.name} is not a constant")
            return self.constants[node.name]
        return literal_value(node)

    def member(self, source: Value, key: str, choice: tuple[str, str] | None = None) -> Value:
        """``source.key``; ``choice`` is (type, ``value[x]``) for a typed choice key."""
        if model.is_primitive(source.shape.type):
            raise NotCompilable(f"{key} of a primitive")
        if choice is None:
            found = model.child(source.shape.type, key)
            if found is None or found.type is None:
                raise NotCompilable(f"{source.shape.type}.{key} is unknown or a choice")
            type_name, definition_key = found.type, key
        else:
            type_name, definition_key = choice
        many = is_array_element(source.shape.type, definition_key)
        shape = source.shape.child(key, type_name, many)
        name = f'"{key}"'
        if not source.many:
            parent = source.sql if _PLAIN.fullmatch(source.sql) else f"({source.sql})"
            return self._raw(Value(f"{parent}.{name}", shape, many))
        item = f"x{next(self.names)}"
        picked = f"list_transform({source.sql}, lambda {item}: {item}.{name})"
        if many:
            return self._raw(Value(f"flatten({picked})", shape, True))
        return self._raw(
            Value(f"list_filter({picked}, lambda {item}: {item} IS NOT NULL)", shape, True)
        )

    def _raw(self, value: Value) -> Value:
        """A number the view wants as text is read as VARCHAR and cast for other uses."""
        if value.shape.path not in self.raw or value.shape.type not in NUMERIC_TYPES:
            return value
        value.shape.raw = True
        sql_type = SQL_TYPES[value.shape.type]
        if not value.many:
            return Value(f"CAST({value.sql} AS {sql_type})", value.shape, False, value.sql)
        item = f"x{next(self.names)}"
        cast = f"list_transform({value.sql}, lambda {item}: CAST({item} AS {sql_type}))"
        return Value(cast, value.shape, True, value.sql)

    # -- functions -----------------------------------------------------------------------------
    def function(self, node: nodes.FunctionCall, focus: Value) -> Value:
        name, arguments = node.name, node.arguments
        if name == "ofType" and len(arguments) == 1:
            return self.of_type(node, focus)
        if name in ("exists", "empty", "not"):
            return Value(self.boolean(node, focus), Shape("boolean"), False)
        source = self.value(node.source, focus) if node.source is not None else focus
        if name == "first" and not arguments:
            return Value(f"({source.sql})[1]", source.shape, False) if source.many else source
        if name == "where" and len(arguments) == 1:
            return self.where(source, arguments[0])
        if name == "join" and len(arguments) <= 1:
            separator = self.literal(arguments[0]) if arguments else ""
            if not isinstance(separator, str) or not model.is_primitive(source.shape.type):
                raise NotCompilable("join() needs a literal separator and strings")
            joined = (
                f"coalesce(array_to_string({source.sql}, {sql_string(separator)}), '')"
                if source.many
                else f"coalesce({source.sql}, '')"
            )
            return Value(joined, Shape("string"), False)
        if name == "extension" and len(arguments) == 1:
            url = self.literal(arguments[0])
            if not isinstance(url, str):
                raise NotCompilable("extension() needs a literal URL")
            extensions = self.member(source, "extension")
            extensions.shape.child("url", "uri", False)
            return self.filter(extensions, lambda item: f'{item}."url" = {sql_string(url)}')
        if name == "getResourceKey" and not arguments:
            return self.member(source, "id")
        if name == "getReferenceKey" and len(arguments) <= 1:
            return self.reference_key(source, arguments[0] if arguments else None)
        if name in ("lowBoundary", "highBoundary") and len(arguments) <= 1:
            return self.boundary(source, arguments, high=name == "highBoundary")
        raise NotCompilable(f"{name}() is outside the typed subset")

    def boundary(
        self, source: Value, arguments: tuple[nodes.Expression, ...], *, high: bool
    ) -> Value:
        """Boundaries from the value's text (a typed decimal prints as its shortest form)."""
        digits = boundary_digits(self.literal(arguments[0]) if arguments else None, arguments)
        type_name = boundary_type(frozenset({source.shape.type}))
        shape = Shape(result_type(type_name, digits))
        if not source.many:
            return Value(
                boundary_sql(f"({source.sql})", type_name, digits, high=high), shape, False
            )
        item = f"x{next(self.names)}"
        mapped = f"list_transform({source.sql}, lambda {item}: "
        mapped += f"{boundary_sql(item, type_name, digits, high=high)})"
        return Value(f"list_filter({mapped}, lambda {item}: {item} IS NOT NULL)", shape, True)

    def filter(self, source: Value, predicate: object) -> Value:
        item = f"x{next(self.names)}"
        test = predicate(item)  # type: ignore[operator]
        if source.many:
            return Value(f"list_filter({source.sql}, lambda {item}: {test})", source.shape, True)
        scalar_test = predicate(f"({source.sql})")  # type: ignore[operator]
        return Value(f"CASE WHEN {scalar_test} THEN {source.sql} END", source.shape, False)

    def where(self, source: Value, condition: nodes.Expression) -> Value:
        def test(item: str) -> str:
            return self.boolean(condition, Value(item, source.shape, False))

        return self.filter(source, test)

    def of_type(self, node: nodes.FunctionCall, focus: Value) -> Value:
        type_name, origin = of_type_target(node)
        parent = self.value(origin.source, focus) if isinstance(origin, nodes.Member) else focus
        found = model.child(parent.shape.type, origin.name)
        if found is None:
            raise NotCompilable(f"{origin.name} is unknown")
        if found.type is not None:
            if found.type != type_name:
                raise NotCompilable(f"ofType({type_name}) of a {found.type}")
            return self.member(parent, origin.name)
        if type_name not in found.choices.values():
            raise NotCompilable(f"{origin.name} is never a {type_name}")
        key = origin.name + type_name[0].upper() + type_name[1:]
        return self.member(parent, key, (type_name, origin.name + "[x]"))

    def reference_key(self, source: Value, target: nodes.Expression | None) -> Value:
        if source.shape.type != "Reference":
            raise NotCompilable("getReferenceKey() applies to References")
        references = self.member(source, "reference")
        type_name = target.name if isinstance(target, nodes.Identifier) else None
        if target is not None and type_name is None:
            raise NotCompilable("getReferenceKey() needs a type name")
        prefix = f"^{type_name}/" if type_name else "(^|/)"
        pattern = sql_string(prefix + "([^/]+)(/_history/[^/]+)?$")
        group = 1 if type_name else 2

        def key(item: str) -> str:
            return f"nullif(regexp_extract({item}, {pattern}, {group}), '')"

        if references.many:
            item = f"x{next(self.names)}"
            keys = f"list_transform({references.sql}, lambda {item}: {key(item)})"
            return Value(f"list_filter({keys}, lambda k: k IS NOT NULL)", Shape("string"), True)
        return Value(key(references.sql), Shape("string"), False)

    # -- booleans ------------------------------------------------------------------------------
    def boolean(self, node: nodes.Expression, focus: Value) -> str:
        if isinstance(node, nodes.BooleanLiteral):
            return "TRUE" if node.value else "FALSE"
        if isinstance(node, nodes.Binary) and node.operator in ("and", "or"):
            left, right = self.boolean(node.left, focus), self.boolean(node.right, focus)
            return f"(({left}) {node.operator.upper()} ({right}))"
        if isinstance(node, nodes.Binary) and node.operator in COMPARISON_SQL:
            left, right = self.scalar(node.left, focus), self.scalar(node.right, focus)
            return f"({left} {COMPARISON_SQL[node.operator]} {right})"
        if isinstance(node, nodes.FunctionCall) and node.name == "not" and node.source:
            return f"(NOT {self.boolean(node.source, focus)})"
        if isinstance(node, nodes.FunctionCall) and node.name in ("exists", "empty"):
            inner = node.source
            if (
                not node.arguments
                and isinstance(inner, nodes.FunctionCall)
                and (inner.name == "where" and len(inner.arguments) == 1)
            ):  # x.where(c).exists() is x.exists(c)
                node = nodes.FunctionCall(inner.source, node.name, inner.arguments)
            choice = self.choice_presence(node, focus)
            if choice is not None:
                return choice
            source = self.value(node.source, focus) if node.source is not None else focus
            if node.arguments and source.shape is self.root:  # the resource itself is there
                test = f"coalesce({self.boolean(node.arguments[0], source)}, FALSE)"
                return test if node.name == "exists" else f"(NOT {test})"
            if node.arguments:
                source = self.where(source, node.arguments[0])
            present = (
                f"(coalesce(array_length({source.sql}), 0) > 0)"
                if source.many
                else f"({source.sql} IS NOT NULL)"
            )
            return present if node.name == "exists" else f"(NOT {present})"
        value = self.value(node, focus)
        if value.shape.type != "boolean":
            raise Invalid(f"{value.shape.type} values where a boolean test is needed")
        return self.scalar_of(value)

    def choice_presence(self, node: nodes.FunctionCall, focus: Value) -> str | None:
        """``deceased.exists()``: whether any ``deceased[x]`` key is there (else None)."""
        origin = node.source
        if node.arguments or not isinstance(origin, nodes.Member | nodes.Identifier):
            return None
        parent = self.value(origin.source, focus) if isinstance(origin, nodes.Member) else focus
        found = model.child(parent.shape.type, origin.name)
        if found is None or found.type is not None or parent.many:
            return None
        tests = []
        for suffix, type_name in found.choices.items():
            value = self.member(parent, origin.name + suffix, (type_name, origin.name + "[x]"))
            tests.append(f"({value.sql} IS NOT NULL)")  # complex ones are read as JSON text
        present = "(" + " OR ".join(tests) + ")"
        return present if node.name == "exists" else f"(NOT {present})"

    def scalar(self, node: nodes.Expression, focus: Value) -> str:
        literal = self.literal(node)
        if literal is not None:
            return self.constant(literal).sql
        value = self.value(node, focus)
        if not model.is_primitive(value.shape.type):
            raise NotCompilable("comparisons of complex values")
        return self.scalar_of(value)

    def scalar_of(self, value: Value) -> str:
        return f"({value.sql})[1]" if value.many else value.sql


def of_type_target(node: nodes.FunctionCall) -> tuple[str, nodes.Member | nodes.Identifier]:
    """The type an ``ofType()`` names and the element it narrows: compiled only as
    ``<element>.ofType(<type>)``."""
    wanted = node.arguments[0]
    type_name = wanted.name if isinstance(wanted, nodes.Identifier) else None
    origin = node.source
    if type_name is None or not isinstance(origin, nodes.Member | nodes.Identifier):
        raise NotCompilable("ofType() needs a type name after an element")
    return type_name, origin
