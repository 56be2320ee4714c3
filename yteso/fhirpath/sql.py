"""Compile the SQL-on-FHIR subset of FHIRPath to SQL (sqlglot trees) for DuckDB and PostgreSQL.

https://build.fhir.org/ig/FHIR/sql-on-fhir-v2/ (FHIRPath subset): paths, ``where``, ``first``,
``exists``, ``empty``, ``join``, ``ofType``, ``extension``, ``getResourceKey``,
``getReferenceKey``, ``not``, comparisons and boolean logic. A FHIRPath collection becomes a
JSON list (DuckDB ``JSON[]``) or a ``jsonb`` array (PostgreSQL); the dialects are small
classes of templates in :mod:`yteso.fhirpath.sql_dialects`. Where FHIRPath would raise (``=``
on several items) SQL compares the first item. :func:`supported` says whether an expression is
in the subset.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from yteso.fhirpath import model, nodes
from yteso.fhirpath.errors import FhirPathError
from yteso.fhirpath.parser import parse
from yteso.fhirpath.sql_dialects import DIALECTS

#: A view's ``%name`` constants.
Constants = Mapping[str, str | bool | int | float]
ARITHMETIC = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div}
COMPARISONS = {"=": exp.EQ, "!=": exp.NEQ, "<": exp.LT, ">": exp.GT, "<=": exp.LTE, ">=": exp.GTE}
_BOOLEAN_FUNCTIONS = frozenset({"exists", "empty", "not"})


class NotCompilable(FhirPathError):
    """The expression uses FHIRPath outside the SQL-on-FHIR subset."""


class SqlCompiler:
    """FHIRPath tree -> sqlglot tree: collections, or booleans for tests."""

    def __init__(
        self, dialect: str, resource_type: str | None, constants: Constants | None = None
    ) -> None:
        if dialect not in DIALECTS:
            raise NotCompilable(f"unknown SQL dialect {dialect}")
        self.dialect = DIALECTS[dialect]()
        self.resource_type = resource_type
        self.constants = dict(constants or {})

    # -- collections ---------------------------------------------------------------------------
    def collection(
        self, node: nodes.Expression, focus: exp.Expression, types: frozenset[str]
    ) -> tuple[exp.Expression, frozenset[str]]:
        if isinstance(node, nodes.Identifier):
            if node.name in types or node.name == self.resource_type:
                return focus, types
            return self.member(focus, types, node.name)
        if isinstance(node, nodes.Member):
            source, source_types = self.collection(node.source, focus, types)
            return self.member(source, source_types, node.name)
        if isinstance(node, nodes.SpecialVariable) and node.name == "this":
            return focus, types
        if isinstance(node, nodes.FunctionCall):
            return self.function(node, focus, types)
        if isinstance(node, nodes.Indexer):
            return self.indexer(node, focus, types)
        if isinstance(node, nodes.Binary) and node.operator in ARITHMETIC:
            return self.arithmetic(node, focus, types)
        literal = self.literal(node)
        if isinstance(literal, str):
            return self.dialect.build(
                self.dialect.single, v=self._json_literal(literal)
            ), frozenset()
        raise NotCompilable(f"{type(node).__name__} is outside the SQL subset")

    def literal(self, node: nodes.Expression) -> str | bool | int | float | None:
        """A literal's value (view constants ``%name`` included), else None."""
        if isinstance(node, nodes.EnvironmentVariable):
            if node.name not in self.constants:
                raise NotCompilable(f"%{node.name} is not a constant of this view")
            return self.constants[node.name]
        return _literal(node)

    def arithmetic(
        self, node: nodes.Binary, focus: exp.Expression, types: frozenset[str]
    ) -> tuple[exp.Expression, frozenset[str]]:
        """``a + b`` on numbers: one number, or empty when a side is empty (or ``x / 0``)."""
        sides: list[exp.Expression] = []
        for side in (node.left, node.right):
            literal = self.literal(side)
            if isinstance(literal, bool) or isinstance(literal, str):
                raise NotCompilable("arithmetic in SQL is on numbers only")
            if literal is not None:
                sides.append(exp.Literal.number(literal))
                continue
            collection, side_types = self.collection(side, focus, types)
            if not side_types or not side_types <= _NUMBERS:
                raise NotCompilable("arithmetic in SQL is on numbers only")
            sides.append(self.scalar(collection, "number"))
        left, right = sides
        if node.operator == "/":
            right = exp.Nullif(this=right, expression=exp.Literal.number(0))
        value = exp.paren(ARITHMETIC[node.operator](this=left, expression=right))
        single = self.dialect.build(self.dialect.single, v=self._json_number(value))
        empty = self.dialect.build(self.dialect.empty)
        result = exp.Case(
            ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=empty)],
            default=single,
        )
        return result, frozenset({"decimal"})

    def _json_number(self, value: exp.Expression) -> exp.Expression:
        if self.dialect.name == "duckdb":
            return exp.cast(exp.func("to_json", value), "JSON")
        return exp.Anonymous(this="to_jsonb", expressions=[value])

    def indexer(
        self, node: nodes.Indexer, focus: exp.Expression, types: frozenset[str]
    ) -> tuple[exp.Expression, frozenset[str]]:
        index = self.literal(node.index)
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise NotCompilable("[] needs a non-negative integer literal")
        source, source_types = self.collection(node.source, focus, types)
        return self.dialect.element(source, index), source_types

    def _json_literal(self, value: str) -> exp.Expression:
        return self._json_text(exp.Literal.string(value))

    def _json_text(self, text: exp.Expression) -> exp.Expression:
        if self.dialect.name == "duckdb":
            return exp.cast(exp.func("to_json", text), "JSON")
        return exp.Anonymous(this="to_jsonb", expressions=[exp.cast(text, "TEXT")])

    def member(
        self, source: exp.Expression, types: frozenset[str], name: str
    ) -> tuple[exp.Expression, frozenset[str]]:
        keys: dict[str, frozenset[str]] = {}
        for type_name in types:
            found = model.child(type_name, name)
            if found is not None and found.type is None:
                for suffix, code in found.choices.items():
                    keys[name + suffix] = frozenset({code})
            elif found is not None and found.type is not None:
                keys[name] = keys.get(name, frozenset()) | {found.type}
        if not keys:
            keys[name] = frozenset()
        result: exp.Expression | None = None
        result_types: frozenset[str] = frozenset()
        for key, key_types in keys.items():
            # each use of ``source`` gets its own subtree: sqlglot nodes know their parent
            own = source if result is None else source.copy()
            step = self.dialect.build(self.dialect.member, c=own, k=self.dialect.path(key))
            result = (
                step
                if result is None
                else self.dialect.build(self.dialect.concat, a=result, b=step)
            )
            result_types |= key_types
        assert result is not None
        return result, result_types

    def function(
        self, node: nodes.FunctionCall, focus: exp.Expression, types: frozenset[str]
    ) -> tuple[exp.Expression, frozenset[str]]:
        source, source_types = (
            self.collection(node.source, focus, types)
            if node.source is not None
            else (focus, types)
        )
        name, arguments = node.name, node.arguments
        if name == "where" and len(arguments) == 1:
            variable = self.dialect.variable()
            item = self.dialect.item(variable)
            predicate = self.boolean(arguments[0], item, source_types)
            return self.dialect.lambda_filter(source, variable, predicate), source_types
        if name == "first" and not arguments:
            return self.dialect.build(self.dialect.first, c=source), source_types
        if name == "ofType" and len(arguments) == 1:
            return self.of_type(node, focus, types, source, source_types)
        if name == "extension" and len(arguments) == 1:
            return self.extension(source, source_types, arguments[0])
        if name == "join" and len(arguments) <= 1:
            return self.join(source, arguments[0] if arguments else nodes.StringLiteral(""))
        if name == "getResourceKey" and not arguments:
            return self.member(source, source_types, "id")[0], frozenset({"id"})
        if name == "getReferenceKey" and len(arguments) <= 1:
            return self.reference_key(source, _type_name(arguments[0]) if arguments else None)
        if name in ("lowBoundary", "highBoundary") and len(arguments) <= 1:
            return self.boundary(source, source_types, arguments, high=name == "highBoundary")
        raise NotCompilable(f"{name}() is outside the SQL subset")

    def extension(
        self, source: exp.Expression, source_types: frozenset[str], url: nodes.Expression
    ) -> tuple[exp.Expression, frozenset[str]]:
        if not isinstance(url, nodes.StringLiteral):
            raise NotCompilable("extension() needs a literal URL")
        extensions, _ = self.member(source, source_types, "extension")
        variable = self.dialect.variable()
        found = self.dialect.build(
            self.dialect.item_text, v=self._raw_item(variable), k=self._key("url")
        )
        predicate = exp.EQ(this=found, expression=exp.Literal.string(url.value))
        return self.dialect.lambda_filter(extensions, variable, predicate), frozenset({"Extension"})

    def join(
        self, source: exp.Expression, separator: nodes.Expression
    ) -> tuple[exp.Expression, frozenset[str]]:
        if not isinstance(separator, nodes.StringLiteral):
            raise NotCompilable("join() needs a literal separator")
        text = self.dialect.build(
            self.dialect.join, c=source, s=exp.Literal.string(separator.value)
        )
        return self.dialect.build(self.dialect.single, v=self._json_text(text)), frozenset()

    def reference_key(
        self, source: exp.Expression, target: str | None
    ) -> tuple[exp.Expression, frozenset[str]]:
        pattern = f"{target}/[^/]+(/_history/[^/]+)?" if target else "[^#]*"
        key = self.dialect.build(
            self.dialect.reference_key, c=source, pattern=exp.Literal.string(pattern)
        )
        return key, frozenset({"id"})

    def boundary(
        self,
        source: exp.Expression,
        source_types: frozenset[str],
        arguments: tuple[nodes.Expression, ...],
        *,
        high: bool,
    ) -> tuple[exp.Expression, frozenset[str]]:
        """Each item's boundary (:mod:`yteso.fhirpath.sql_boundaries`), from its JSON text."""
        from yteso.fhirpath.sql_boundaries import (
            boundary_digits,
            boundary_tree,
            boundary_type,
            result_type,
        )

        digits = boundary_digits(self.literal(arguments[0]) if arguments else None, arguments)
        type_name = boundary_type(source_types)
        variable = self.dialect.variable()
        text = self.dialect.build(
            self.dialect.item_text, v=self._raw_item(variable), k=self.dialect.whole
        )
        value = boundary_tree(type_name, digits, text, high=high)
        if type_name in _NUMBERS:
            json = self._json_number(value)
        else:
            json = self._json_text(value)
        mapped = self.dialect.map_items(source, variable, json)
        return mapped, frozenset({result_type(type_name, digits)})

    def _raw_item(self, variable: str) -> exp.Expression:
        if self.dialect.name == "duckdb":
            return exp.column(variable)
        return exp.column("value", table=variable)

    def _key(self, name: str) -> exp.Expression:
        if self.dialect.name == "duckdb":
            return exp.Literal.string(f"$.{name}")
        return exp.Literal.string("{" + name + "}")

    def of_type(
        self,
        node: nodes.FunctionCall,
        focus: exp.Expression,
        types: frozenset[str],
        source: exp.Expression,
        source_types: frozenset[str],
    ) -> tuple[exp.Expression, frozenset[str]]:
        wanted = _type_name(node.arguments[0])
        if wanted is None:
            raise NotCompilable("ofType() needs a type name")
        origin = node.source
        if isinstance(origin, (nodes.Member, nodes.Identifier)):
            if isinstance(origin, nodes.Member):
                parent, parent_types = self.collection(origin.source, focus, types)
            else:
                parent, parent_types = focus, types
            for type_name in parent_types:
                found = model.child(type_name, origin.name)
                if found is not None and found.type is None:
                    key = origin.name + wanted[0].upper() + wanted[1:]
                    step = self.dialect.build(
                        self.dialect.member, c=parent, k=self.dialect.path(key)
                    )
                    return step, frozenset({wanted})
        if model.is_resource_type(wanted):
            variable = self.dialect.variable()
            kind = self.dialect.build(
                self.dialect.item_text, v=self._raw_item(variable), k=self._key("resourceType")
            )
            predicate = exp.EQ(this=kind, expression=exp.Literal.string(wanted))
            return self.dialect.lambda_filter(source, variable, predicate), frozenset({wanted})
        if source_types == {wanted}:
            return source, source_types
        raise NotCompilable(
            f"ofType({wanted}) on {', '.join(sorted(source_types)) or 'untyped'} values"
        )

    # -- booleans -------------------------------------------------------------------------------
    def boolean(
        self, node: nodes.Expression, focus: exp.Expression, types: frozenset[str]
    ) -> exp.Expression:
        if isinstance(node, nodes.BooleanLiteral):
            return exp.Boolean(this=node.value)
        if isinstance(node, nodes.Binary) and node.operator in ("and", "or"):
            left = self.boolean(node.left, focus, types)
            right = self.boolean(node.right, focus, types)
            combined = exp.And if node.operator == "and" else exp.Or
            return exp.paren(combined(this=exp.paren(left), expression=exp.paren(right)))
        if isinstance(node, nodes.Binary) and node.operator in COMPARISONS:
            return self.comparison(node, focus, types)
        if isinstance(node, nodes.FunctionCall) and node.name in _BOOLEAN_FUNCTIONS:
            return self.boolean_function(node, focus, types)
        collection, _ = self.collection(node, focus, types)
        return self.dialect.build(self.dialect.boolean_of, c=collection)

    def boolean_function(
        self, node: nodes.FunctionCall, focus: exp.Expression, types: frozenset[str]
    ) -> exp.Expression:
        if node.name == "not" and not node.arguments:
            if node.source is None:
                raise NotCompilable("not() needs an input")
            return exp.Not(this=exp.paren(self.boolean(node.source, focus, types)))
        source = self.collection(node.source, focus, types)[0] if node.source is not None else focus
        if node.name == "exists" and node.arguments:
            filtered = nodes.FunctionCall(node.source, "where", node.arguments)
            source, _ = self.collection(filtered, focus, types)
        elif node.arguments:
            raise NotCompilable(f"{node.name}() with arguments is outside the SQL subset")
        count = self.dialect.build(self.dialect.count, c=source)
        if node.name == "empty":
            return exp.EQ(this=count, expression=exp.Literal.number(0))
        return exp.GT(this=count, expression=exp.Literal.number(0))

    def comparison(
        self, node: nodes.Binary, focus: exp.Expression, types: frozenset[str]
    ) -> exp.Expression:
        left, right = node.left, node.right
        operator = node.operator
        if self.literal(left) is not None and self.literal(right) is None:
            left, right = right, left
            operator = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(operator, operator)
        collection, left_types = self.collection(left, focus, types)
        literal = self.literal(right)
        if literal is None:  # two paths: compare their first items as their types say
            other, right_types = self.collection(right, focus, types)
            kind = _scalar_kind(left_types | right_types)
            value, constant = self.scalar(collection, kind), self.scalar(other, kind)
        elif isinstance(literal, bool):
            value, constant = self.scalar(collection, "boolean"), exp.Boolean(this=literal)
        elif isinstance(literal, str):
            value, constant = self.scalar(collection, "text"), exp.Literal.string(literal)
        else:
            value, constant = self.scalar(collection, "number"), exp.Literal.number(literal)
        return exp.paren(COMPARISONS[operator](this=value, expression=constant))

    def scalar(self, collection: exp.Expression, kind: str) -> exp.Expression:
        template = {
            "boolean": self.dialect.boolean_of,
            "number": self.dialect.number_of,
            "text": self.dialect.text_of,
        }[kind]
        return self.dialect.build(template, c=collection)


_NUMBERS = frozenset({"decimal", "integer", "positiveInt", "unsignedInt"})


def _scalar_kind(types: frozenset[str]) -> str:
    if types and types <= _NUMBERS:
        return "number"
    return "boolean" if types == {"boolean"} else "text"


def _literal(node: nodes.Expression) -> str | bool | int | float | None:
    if isinstance(node, (nodes.StringLiteral, nodes.BooleanLiteral)):
        return node.value
    if isinstance(node, nodes.NumberLiteral):
        return node.value if isinstance(node.value, int) else float(node.value)
    if isinstance(node, nodes.DateTimeLiteral) and not node.text.startswith("T"):
        return node.text.removesuffix("T")
    return None


def _type_name(node: nodes.Expression) -> str | None:
    if isinstance(node, nodes.Identifier):
        return node.name
    if isinstance(node, nodes.Member) and isinstance(node.source, nodes.Identifier):
        return node.name
    return None


def _is_boolean(node: nodes.Expression) -> bool:
    if isinstance(node, nodes.Binary):
        return node.operator in COMPARISONS or node.operator in ("and", "or")
    return isinstance(node, nodes.FunctionCall) and node.name in _BOOLEAN_FUNCTIONS


def to_sql(
    expression: str,
    *,
    dialect: str,
    resource_type: str | None,
    column: str = "resource",
    constants: Constants | None = None,
) -> exp.Expression:
    """The SQL for ``expression`` over a JSON ``column``: a JSON list/array, or a boolean.

    ``constants`` are a view's ``%name`` values (strings, numbers, booleans); sqlglot renders
    them as escaped literals.
    """
    tree = parse(expression)
    compiler = SqlCompiler(dialect, resource_type, constants)
    root = compiler.dialect.build(compiler.dialect.root, c=exp.column(column))
    types = frozenset({resource_type}) if resource_type else frozenset()
    if _is_boolean(tree):
        return compiler.boolean(tree, root, types)
    return compiler.collection(tree, root, types)[0]


def supported(
    expression: str, resource_type: str | None = None, constants: Constants | None = None
) -> bool:
    """Whether ``expression`` compiles to SQL (for both dialects)."""
    try:
        for dialect in DIALECTS:
            to_sql(expression, dialect=dialect, resource_type=resource_type, constants=constants)
    except NotCompilable:
        return False
    return True


def is_boolean(expression: str) -> bool:
    """Whether :func:`to_sql` gives a boolean (else a JSON collection)."""
    return _is_boolean(parse(expression))


def is_boolean_tree(tree: nodes.Expression) -> bool:
    """Whether a parsed expression compiles to a boolean (else a JSON collection)."""
    return _is_boolean(tree)


def literal_value(node: nodes.Expression) -> str | bool | int | float | None:
    """The value of a literal node (dates as their text), else None."""
    return _literal(node)
