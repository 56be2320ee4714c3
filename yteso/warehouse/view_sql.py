"""Compile a ViewDefinition to one SQL query for DuckDB or PostgreSQL.

https://sql-on-fhir.org/ig/latest/StructureDefinition-ViewDefinition.html#processing-algorithm:
each select node becomes a query over its focus; nested selects and unionAll become
``CROSS JOIN LATERAL`` subqueries (their cross product); ``forEach`` unnests the focus
collection with its position (``%rowIndex``), ``forEachOrNull`` keeps one null item when the
collection is empty, ``repeat`` iterates a recursive CTE of the nodes its paths reach,
ordered by their position paths (pre-order). Column paths are sqlglot trees from
:mod:`yteso.warehouse.view_paths`; this module only joins the rendered pieces.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from yteso.warehouse.view_definition import Column, Select, View
from yteso.warehouse.view_paths import ViewPathCompiler

STRING_TYPES = frozenset(
    {
        "string", "id", "code", "uri", "url", "canonical", "oid", "uuid", "markdown",
        "base64Binary", "date", "dateTime", "instant", "time",
    }
)  # fmt: skip
SQL_TYPES = {
    "boolean": "BOOLEAN",
    "integer": "BIGINT",
    "positiveInt": "BIGINT",
    "unsignedInt": "BIGINT",
    "integer64": "BIGINT",
    "decimal": "DOUBLE",
}
SQLGLOT_DIALECTS = {"duckdb": "duckdb", "postgres": "postgres"}


@dataclass(frozen=True, slots=True)
class OutputColumn:
    """How a result cell reads back: ``value`` as is, ``json`` decoded, ``list`` of items."""

    name: str
    kind: str  # value | json | list | items (PostgreSQL: a jsonb array to check and unwrap)


@dataclass(frozen=True, slots=True)
class CompiledView:
    sql: str
    columns: tuple[OutputColumn, ...]


class ViewSqlCompiler:
    """One view, one dialect; ``source`` is a relation with a ``resource`` JSON column."""

    def __init__(self, view: View, dialect: str) -> None:
        self.view = view
        self.dialect = dialect
        self.paths = ViewPathCompiler(dialect, view.resource, view.constants)
        self.aliases = itertools.count(1)
        self.outputs: dict[str, OutputColumn] = {}

    root_focus = "r.resource"
    null_item = "NULL::JSON"  # the one item forEachOrNull iterates over an empty collection

    def root_types(self) -> Any:
        """What the path compiler knows of the focus: FHIR types here, a shape when typed."""
        return frozenset({self.view.resource})

    def compile(self, source: str) -> CompiledView:
        types = self.root_types()
        conditions = [
            self.path_sql(path.source, self.root_focus, types, boolean=True)
            for path in self.view.where
        ]
        parts, joins = self.select_parts(self.view.root, self.root_focus, "0", types)
        where = " AND ".join(f"({condition})" for condition in conditions) or "TRUE"
        sql = (
            f"SELECT {', '.join(parts)} FROM {self.relation(source)} AS r "
            f"{' '.join(joins)} WHERE {where}"
        )
        names = self.view.column_names()
        return CompiledView(sql, tuple(self.outputs[name] for name in names))

    def relation(self, source: str) -> str:
        return source

    def set_row_index(self, index: str) -> None:
        self.paths.row_index = _reference(index)

    def render(self, tree: exp.Expression) -> str:
        return tree.sql(dialect=SQLGLOT_DIALECTS[self.dialect])

    def path_sql(self, source: str, focus: str, types: Any, *, boolean: bool = False) -> str:
        from yteso.fhirpath import parse

        tree = parse(source)
        root = self.paths.dialect.build(self.paths.dialect.single, v=_reference(focus))
        if boolean:
            return self.render(self.paths.boolean(tree, root, types))
        return self.render(self.paths.collection(tree, root, types)[0])

    def collection(self, source: str, focus: str, types: Any) -> tuple[str, Any]:
        from yteso.fhirpath import parse

        tree = parse(source)
        root = self.paths.dialect.build(self.paths.dialect.single, v=_reference(focus))
        found, found_types = self.paths.collection(tree, root, types)
        return self.render(found), found_types

    def select_sql(self, select: Select, focus: str, index: str, types: Any) -> str:
        alias = f"s{next(self.aliases)}"
        if select.iterate is None:
            source = f"(SELECT 1 AS one) AS {alias}"
        else:
            if select.iterate == "repeat":
                items, types = self.repeat_items(select, focus, types)
            else:
                items, types = self.collection(select.paths[0].source, focus, types)
            source = self.iteration(items, alias, or_null=select.iterate == "forEachOrNull")
            focus, index = f"{alias}.item", f"{alias}.ix"
        parts, joins = self.select_parts(select, focus, index, types)
        return f"SELECT {', '.join(parts)} FROM {source} {' '.join(joins)}"

    def select_parts(
        self, select: Select, focus: str, index: str, types: Any
    ) -> tuple[list[str], list[str]]:
        """The columns and joins of ``select`` at its focus; children that do not iterate are
        inlined (a lateral subquery per select node slowed DuckDB down several times)."""
        self.set_row_index(index)
        parts = [self.column_sql(column, focus, types) for column in select.columns]
        joins: list[str] = []
        for child in select.selects:
            if child.iterate is None:
                child_parts, child_joins = self.select_parts(child, focus, index, types)
                parts.extend(child_parts)
                joins.extend(child_joins)
                continue
            child_alias = f"c{next(self.aliases)}"
            child_sql = self.select_sql(child, focus, index, types)
            joins.append(f"CROSS JOIN LATERAL ({child_sql}) AS {child_alias}")
            parts.extend(f"{child_alias}.{_quote(name)}" for name in child.column_names())
        if select.union_all:
            union_alias = f"u{next(self.aliases)}"
            branches = " UNION ALL ".join(
                f"({self.select_sql(branch, focus, index, types)})" for branch in select.union_all
            )
            joins.append(f"CROSS JOIN LATERAL ({branches}) AS {union_alias}")
            names = select.union_all[0].column_names()
            parts.extend(f"{union_alias}.{_quote(name)}" for name in names)
        return parts, joins

    def repeat_items(self, select: Select, focus: str, types: Any) -> tuple[str, Any]:
        """Every node the repeat paths reach, in pre-order: a recursive CTE whose rows carry
        their position path (an array), ordered by it."""
        step, item_types = self.repeat_step(select, focus, types)
        again, _ = self.repeat_step(select, "walk.item", item_types)
        if self.dialect == "duckdb":
            return (
                "coalesce((SELECT list(w.item ORDER BY w.path) FROM (WITH RECURSIVE "
                "walk(item, path) AS (SELECT unnest(c) AS item, [unnest(range(len(c)))] AS path "
                f"FROM (SELECT {step} AS c) UNION ALL SELECT unnest(c), "
                "list_append(w.path, unnest(range(len(c)))) FROM "
                f"(SELECT walk.path AS path, {again} AS c FROM walk) AS w) "
                "SELECT * FROM walk) AS w), [])"
            ), item_types
        return (
            "(SELECT coalesce(jsonb_agg(w.item ORDER BY w.path), '[]'::jsonb) FROM "
            "(WITH RECURSIVE walk(item, path) AS (SELECT e.value, ARRAY[e.n] FROM "
            f"jsonb_array_elements({step}) WITH ORDINALITY AS e(value, n) UNION ALL "
            "SELECT e.value, walk.path || e.n FROM walk CROSS JOIN LATERAL "
            f"jsonb_array_elements({again}) WITH ORDINALITY AS e(value, n)) "
            "SELECT * FROM walk) AS w)"
        ), item_types

    def repeat_step(self, select: Select, focus: str, types: Any) -> tuple[str, Any]:
        """The repeat paths applied once to ``focus``, concatenated."""
        found = [self.collection(path.source, focus, types) for path in select.paths]
        merged = found[0][0]
        for items, _ in found[1:]:
            merged = (
                f"list_concat({merged}, {items})"
                if self.dialect == "duckdb"
                else f"({merged} || {items})"
            )
        item_types = frozenset().union(*(t for _, t in found)) if types is not None else types
        return merged, item_types

    def iteration(self, items: str, alias: str, *, or_null: bool) -> str:
        if self.dialect == "duckdb":
            listed = f"CASE WHEN len(l) = 0 THEN [{self.null_item}] ELSE l END" if or_null else "l"
            return (
                f"(SELECT unnest({listed}) AS item, unnest(range(len({listed}))) AS ix "
                f"FROM (SELECT {items} AS l)) AS {alias}"
            )
        elements = f"jsonb_array_elements({items}) WITH ORDINALITY AS {alias}_e(item, n)"
        if or_null:
            return (
                f"(SELECT e.item, COALESCE(e.n - 1, 0) AS ix FROM (SELECT 1) AS one "
                f"LEFT JOIN LATERAL (SELECT * FROM {elements}) AS e ON TRUE) AS {alias}"
            )
        return f"(SELECT {alias}_e.item, {alias}_e.n - 1 AS ix FROM {elements}) AS {alias}"

    def column_sql(self, column: Column, focus: str, types: Any) -> str:
        items = self.path_sql(column.path.source, focus, types)
        name = _quote(column.name)
        if self.dialect == "postgres":
            self.outputs[column.name] = OutputColumn(
                column.name, "list" if column.collection else "items"
            )
            return f"{items} AS {name}"
        if column.collection:
            self.outputs[column.name] = OutputColumn(column.name, "list")
            return f"to_json({items}) AS {name}"
        first = f"({items})[1]"
        sql_type = SQL_TYPES.get(column.type or "")
        if sql_type is not None:
            value, kind = f"CAST(json_extract_string({first}, '$') AS {sql_type})", "value"
        elif column.type in STRING_TYPES:
            value, kind = f"json_extract_string({first}, '$')", "value"
        else:
            value, kind = first, "json"
        self.outputs[column.name] = OutputColumn(column.name, kind)
        message = exp.Literal.string(f"column {column.name} has several values").sql("duckdb")
        return f"CASE WHEN len({items}) > 1 THEN error({message}) ELSE {value} END AS {name}"


def _reference(name: str) -> exp.Expression:
    """``alias.column`` as a column tree, a number as a literal."""
    if "." in name:
        table, column = name.split(".")
        return exp.column(column, table=table)
    return exp.Literal.number(int(name))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compile_view(view: View, dialect: str, source: str) -> CompiledView:
    """The SQL of ``view`` over ``source`` (a relation with a ``resource`` JSON column)."""
    return ViewSqlCompiler(view, dialect).compile(source)
