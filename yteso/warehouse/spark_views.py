"""Run views on Spark SQL (pyspark): typed columns, forEach as ``LATERAL VIEW posexplode``.

https://spark.apache.org/docs/latest/sql-ref-syntax-qry-select-lateral-view.html. Resources are
read with the schema the view's :class:`~yteso.warehouse.typed_paths.Shape` gives (the
elements the view touches, typed), so Spark parses them once, like DuckDB's typed path. Paths
are compiled by the typed compiler and rendered for Spark by sqlglot (DuckDB -> Spark). Each
forEach/forEachOrNull adds a ``LATERAL VIEW [OUTER] posexplode`` to one flat query; unionAll
branches become arrays of row structs (``LATERAL VIEW inline``).

``repeat`` (Spark SQL has no recursive CTE usable per row): the nodes the repeat paths reach are
read as JSON text (``ARRAY<STRING>``, a finite schema for a recursive element), and a bounded
fixed point over ``aggregate``/``transform`` collects every level with its position path; the
bound per row is the number of the repeat keys in the first level's text, which is at least
the depth present in the data. Sorted by position path (pre-order), each node is parsed once
with ``from_json`` into the typed struct the select's columns need, then iterated like a
forEach. Repeat paths must be plain element paths (``item``, ``answer.item``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import sqlglot

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.fhirpath import model, nodes
from yteso.fhirpath.sql import NotCompilable
from yteso.warehouse.typed_paths import Shape, Value
from yteso.warehouse.typed_views import TypedViewSqlCompiler, model_primitive
from yteso.warehouse.view_definition import Column, Select, View
from yteso.warehouse.view_sources import is_store, ndjson_files, parquet_files, store_texts
from yteso.warehouse.view_sql import OutputColumn

SPARK_TYPES = {
    "JSON": "STRING",
    "VARCHAR": "STRING",
    "DOUBLE": "DOUBLE",
    "BIGINT": "BIGINT",
    "BOOLEAN": "BOOLEAN",
}


def to_spark(duckdb_sql: str) -> str:
    return sqlglot.transpile(duckdb_sql, read="duckdb", write="spark")[0]


def spark_type(shape: Shape, many: bool = False) -> str:
    if not shape.children:
        inner = SPARK_TYPES[shape.sql_type()]
    else:
        fields = ", ".join(
            f"`{key}`: {spark_type(child, child_many)}"
            for key, (child, child_many) in sorted(shape.children.items())
        )
        inner = f"STRUCT<{fields}>"
    return f"ARRAY<{inner}>" if many else inner


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SparkViewCompiler(TypedViewSqlCompiler):
    """One flat query over the temp view ``source`` (typed columns of one resource type)."""

    def __init__(self, view: View, raw: frozenset[tuple[str, ...]] = frozenset()) -> None:
        super().__init__(view, raw)
        self.null_types: dict[str, Shape] = {}  # typed NULL focus of an empty forEachOrNull
        self.repeat_nodes: dict[str, tuple[str, Shape]] = {}  # token -> (text SQL, node shape)
        self.repeat_leaves: list[Shape] = []  # first-level nodes, read as JSON text

    # -- repeat: a bounded fixed point over JSON text --------------------------------------------
    def iterated(self, select: Select, focus: str, types: Any) -> tuple[str, Any]:
        """The Spark array a forEach/forEachOrNull/repeat select iterates, and its item shape."""
        if select.iterate == "repeat":
            return self.repeat_items(select, focus, types)
        items, shape = self.collection(select.paths[0].source, focus, types)
        return to_spark(items), shape

    def repeat_keys(self, select: Select) -> list[list[str]]:
        found = []
        for path in select.paths:
            keys: list[str] = []
            tree: nodes.Expression | None = path.tree
            while isinstance(tree, nodes.Member):
                keys.insert(0, tree.name)
                tree = tree.source
            if not isinstance(tree, nodes.Identifier):
                raise NotCompilable("repeat paths on Spark are plain element paths")
            found.append([tree.name, *keys])
        return found

    def repeat_reaches(self, select: Select, types: Any) -> bool:
        """Whether some repeat path's first step is an element of the focus type."""
        for chain in self.repeat_keys(select):
            found = model.child(types.type, chain[0])
            if found is not None and found.type is not None:
                return True
        return False

    def repeat_texts(self, keys: list[list[str]], focus: Value) -> tuple[list[str], set[str]]:
        """Each repeat path from ``focus`` as a Spark ARRAY<STRING> of JSON texts."""
        arrays, kinds = [], set()
        for chain in keys:
            value: Value | None = focus
            for key in chain:
                assert value is not None
                found = model.child(value.shape.type, key)
                if found is None or found.type is None:
                    value = None  # not an element here: an empty collection, as in FHIRPath
                    break
                value = self.typed.member(value, key)
            if value is None:
                continue
            kinds.add(value.shape.type)
            self.repeat_leaves.append(value.shape)
            listed = (
                f"coalesce({value.sql}, [])"
                if value.many
                else f"list_filter([{value.sql}], lambda y: y IS NOT NULL)"
            )
            arrays.append(to_spark(listed))
        return arrays, kinds

    def repeat_items(self, select: Select, focus: str, types: Any) -> tuple[str, Any]:
        number = next(self.aliases)
        keys = self.repeat_keys(select)
        first, kinds = self.repeat_texts(keys, Value(focus, types, False))
        if len(kinds) > 1:
            raise NotCompilable("repeat paths reaching different types")
        if not first:
            raise NotCompilable("a repeat reaching no element inside a unionAll or forEach")
        node_type = kinds.pop()
        parent = Shape(node_type)  # the keys the children are read by, from a node's text
        node = f"rn{number}"
        texts, _ = self.repeat_texts(keys, Value(node, parent, False))
        self.repeat_leaves = [leaf for leaf in self.repeat_leaves if leaf not in _leaves(parent)]
        children = texts[0] if len(texts) == 1 else f"concat({', '.join(texts)})"
        x, c, j, acc, z = (f"{name}{number}" for name in ("rx", "rc", "rj", "ra", "rz"))
        children = children.replace(node, f"from_json({x}.t, {_string(spark_type(parent))})")
        level = f"concat({', '.join(first)})" if len(first) > 1 else first[0]
        start = f"transform({level}, ({c}, {j}) -> named_struct('p', array({j}), 't', {c}))"
        deeper = (
            f"flatten(transform({acc}.f, {x} -> transform({children}, ({c}, {j}) -> "
            f"named_struct('p', concat({x}.p, array({j})), 't', {c}))))"
        )
        text = f"concat_ws('', {level})"
        count = " + ".join(
            f"((length({text}) - length(replace({text}, '\"{key}\":', ''))) DIV {len(key) + 3})"
            for key in sorted({chain[-1] for chain in keys})
        )
        nodes_sql = (
            f"array_sort(aggregate(sequence(1, 1 + {count}), named_struct('f', {start}, 'a', "
            f"filter({start}, {z} -> false)), ({acc}, i{number}) -> named_struct('f', {deeper}, "
            f"'a', concat({acc}.a, {acc}.f)), {acc} -> concat({acc}.a, {acc}.f)))"
        )
        token = f"__repeat_{number}__"
        shape = Shape(node_type)
        self.repeat_nodes[token] = (f"{z}.t", shape)
        return f"transform({nodes_sql}, {z} -> {token})", shape

    def select_parts(
        self, select: Select, focus: str, index: str, types: Any
    ) -> tuple[list[str], list[str]]:
        self.set_row_index(index)
        parts = [self.column_sql(column, focus, types) for column in select.columns]
        joins: list[str] = []
        for child in select.selects:
            if child.iterate == "repeat" and not self.repeat_reaches(child, types):
                # no repeat path is an element here: no rows, whatever the data
                joins.append(f"LATERAL VIEW posexplode(array()) s{next(self.aliases)} AS ix, item")
                for name in child.column_names():
                    self.outputs[name] = OutputColumn(name, "value")
                    parts.append(f"CAST(NULL AS STRING) AS {_quote(name)}")
                continue
            if child.iterate is None:
                child_focus, child_index, child_types = focus, index, types
            else:
                alias = f"s{next(self.aliases)}"
                items, child_types = self.iterated(child, focus, types)
                outer = "OUTER " if child.iterate == "forEachOrNull" else ""
                joins.append(f"LATERAL VIEW {outer}posexplode({items}) {alias} AS ix, item")
                child_focus, child_index = f"{alias}.item", f"{alias}.ix"
            child_parts, child_joins = self.select_parts(
                child, child_focus, child_index, child_types
            )
            parts.extend(child_parts)
            joins.extend(child_joins)
            self.set_row_index(index)
        if select.union_all:
            alias = f"u{next(self.aliases)}"
            names = select.union_all[0].column_names()
            rows = self.union_rows(select, focus, index, types)
            joins.append(f"LATERAL VIEW inline({rows}) {alias} AS {', '.join(map(_quote, names))}")
            parts.extend(f"{alias}.{_quote(name)}" for name in names)
            self.set_row_index(index)
        return parts, joins

    # -- unionAll: each branch as an ARRAY<STRUCT> of its rows ---------------------------------
    def union_rows(self, select: Select, focus: str, index: str, types: Any) -> str:
        branches = [self.rows_array(b, focus, index, types) for b in select.union_all]
        return branches[0] if len(branches) == 1 else f"concat({', '.join(branches)})"

    def rows_array(self, select: Select, focus: str, index: str, types: Any) -> str:
        """The rows of ``select`` at ``focus`` as one array expression (for unionAll)."""
        if select.iterate is None:
            return self.body_array(select, focus, index, types)
        items, item_shape = self.iterated(select, focus, types)
        number = next(self.aliases)
        item, position = f"ux{number}", f"ui{number}"
        body = self.body_array(select, item, position, item_shape)
        each = f"flatten(transform({items}, ({item}, {position}) -> {body}))"
        if select.iterate == "forEach":
            return each
        token = f"__null_{number}__"
        self.null_types[token] = item_shape
        empty = self.body_array(select, f"CAST(NULL AS {token})", "0", item_shape)
        return f"CASE WHEN coalesce(size({items}), 0) > 0 THEN {each} ELSE {empty} END"

    def body_array(self, select: Select, focus: str, index: str, types: Any) -> str:
        self.set_row_index(index)
        factors: list[tuple[list[str], str]] = []
        if select.columns:
            fields = ", ".join(
                f"{_string(column.name)}, {self.column_expression(column, focus, types)}"
                for column in select.columns
            )
            factors.append(([c.name for c in select.columns], f"array(named_struct({fields}))"))
        for child in select.selects:
            factors.append((child.column_names(), self.rows_array(child, focus, index, types)))
            self.set_row_index(index)
        if select.union_all:
            names = select.union_all[0].column_names()
            factors.append((names, self.union_rows(select, focus, index, types)))
        names, rows = factors[0]
        for other_names, other in factors[1:]:
            left, right = f"ua{next(self.aliases)}", f"ub{next(self.aliases)}"
            fields = ", ".join(
                [f"{_string(n)}, {left}.{_quote(n)}" for n in names]
                + [f"{_string(n)}, {right}.{_quote(n)}" for n in other_names]
            )
            rows = (
                f"flatten(transform({rows}, {left} -> "
                f"transform({other}, {right} -> named_struct({fields}))))"
            )
            names = names + other_names
        return rows

    def set_row_index(self, index: str) -> None:
        self.typed.row_index = f"coalesce({index}, 0)" if "." in index else index

    def path_sql(self, source: str, focus: str, types: Any, *, boolean: bool = False) -> str:
        return to_spark(super().path_sql(source, focus, types, boolean=boolean))

    def column_sql(self, column: Column, focus: str, types: Any) -> str:
        return f"{self.column_expression(column, focus, types)} AS {_quote(column.name)}"

    def column_expression(self, column: Column, focus: str, types: Any) -> str:
        found = self.value(column.path.source, focus, types)
        if not model_primitive(found.shape.type):
            raise NotCompilable("complex column values are not typed")
        self.outputs[column.name] = OutputColumn(column.name, "value")
        value = to_spark(found.sql)
        if column.collection:
            listed = value if found.many else f"filter(array({value}), y -> y IS NOT NULL)"
            return f"coalesce({listed}, array())"
        if not found.many:
            return value
        message = _string(f"column {column.name} has several values")
        return (
            f"CASE WHEN size({value}) > 1 THEN raise_error({message}) "
            f"ELSE element_at({value}, 1) END"
        )

    def relation(self, source: str) -> str:
        return source


def _leaves(shape: Shape) -> list[Shape]:
    found = [shape]
    for child, _ in shape.children.values():
        found.extend(_leaves(child))
    return found


def compile_spark_view(view: View) -> tuple[str, str]:
    """The Spark SQL of ``view`` over a temp view named ``resources`` and that view's schema."""
    compiler = SparkViewCompiler(view)
    compiled = compiler.compile("resources")
    if compiler.typed.wants_raw:  # numbers whose text matters: read them as STRING
        compiler = SparkViewCompiler(view, frozenset(compiler.typed.wants_raw))
        compiled = compiler.compile("resources")
    sql = compiled.sql
    for token, shape in compiler.null_types.items():  # final shapes: known only now
        sql = sql.replace(token, spark_type(shape))
    for token, (text, shape) in compiler.repeat_nodes.items():
        parsed = f"from_json({text}, {_string(spark_type(shape))})" if shape.children else text
        sql = sql.replace(token, parsed)
    if any(leaf.children for leaf in compiler.repeat_leaves):
        raise NotCompilable("an element both repeated and read as typed columns")
    compiler.typed.root.child("resourceType", "string", False)
    schema = ", ".join(
        f"`{key}` {spark_type(shape, many)}"
        for key, (shape, many) in sorted(compiler.typed.root.children.items())
    )
    return sql, schema


def run_spark(view: View, source: Any, spark: Any) -> list[Json]:
    """The rows of ``view`` on the SparkSession ``spark`` over resources, NDJSON or Parquet
    files, or the live store (its resources of the view's type, read on the driver)."""
    sql, schema = compile_spark_view(view)
    frame = _resources_frame(spark, source, view.resource, schema)
    frame.where(frame.resourceType == view.resource).createOrReplaceTempView("resources")
    try:
        records = spark.sql(sql).collect()
    except Exception as error:  # pyspark raises its own hierarchy, not importable here
        raise Invalid(f"the view failed on Spark: {error}") from error
    names = view.column_names()
    return [dict(zip(names, record, strict=True)) for record in records]


def _resources_frame(spark: Any, source: Any, resource_type: str, schema: str) -> Any:
    """A DataFrame of the source's resources, parsed with the view's ``schema``."""
    if is_store(source):
        texts = [(text,) for batch in store_texts(source, resource_type) for text in batch]
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if parquet := parquet_files(path):  # the resource column holds JSON text
            raw = spark.read.parquet(*map(str, parquet)).select("resource")
            return raw.selectExpr(f"from_json(resource, '{schema}') AS r").select("r.*")
        files = ndjson_files(path, resource_type) if path.is_dir() else [path]
        return spark.read.schema(schema).json([str(file) for file in files])
    else:
        texts = [(orjson.dumps(resource).decode(),) for resource in source]
    # a local relation parsed by from_json: no Python worker process per query
    raw = spark.createDataFrame(texts, "resource STRING")
    return raw.selectExpr(f"from_json(resource, '{schema}') AS r").select("r.*")


def local_spark(app_name: str = "yteso-warehouse") -> Any:
    """A local-mode SparkSession for tests and the CLI (one per process: ``getOrCreate``).

    ANSI mode is off so that ``array[i]`` past the end is NULL (FHIRPath's empty), as the
    compiled paths expect; one shuffle partition suits small local inputs.
    """
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
