"""Run views on Spark SQL (pyspark): typed columns, forEach as ``LATERAL VIEW posexplode``.

https://spark.apache.org/docs/latest/sql-ref-syntax-qry-select-lateral-view.html. Resources are
read with the schema the view's :class:`~yteso.warehouse.typed_paths.Shape` gives (the
elements the view touches, typed), so Spark parses them once, like DuckDB's typed path. Paths
are compiled by the typed compiler and rendered for Spark by sqlglot (DuckDB -> Spark). Each
forEach/forEachOrNull adds a ``LATERAL VIEW [OUTER] posexplode`` to one flat query; unionAll and
repeat are not compiled here (NotCompilable: those views run on another engine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import sqlglot

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.fhirpath.sql import NotCompilable
from yteso.warehouse.typed_paths import Shape
from yteso.warehouse.typed_views import TypedViewSqlCompiler, model_primitive
from yteso.warehouse.view_definition import Column, Select, View
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


class SparkViewCompiler(TypedViewSqlCompiler):
    """One flat query over the temp view ``source`` (typed columns of one resource type)."""

    def select_parts(
        self, select: Select, focus: str, index: str, types: Any
    ) -> tuple[list[str], list[str]]:
        if select.union_all:
            raise NotCompilable("unionAll is not compiled to Spark SQL")
        self.set_row_index(index)
        parts = [self.column_sql(column, focus, types) for column in select.columns]
        joins: list[str] = []
        for child in select.selects:
            if child.iterate == "repeat":
                raise NotCompilable("repeat is not compiled to SQL")
            if child.iterate is None:
                child_focus, child_index, child_types = focus, index, types
            else:
                alias = f"s{next(self.aliases)}"
                items, child_types = self.collection(child.paths[0].source, focus, types)
                outer = "OUTER " if child.iterate == "forEachOrNull" else ""
                joins.append(
                    f"LATERAL VIEW {outer}posexplode({to_spark(items)}) {alias} AS ix, item"
                )
                child_focus, child_index = f"{alias}.item", f"{alias}.ix"
            child_parts, child_joins = self.select_parts(
                child, child_focus, child_index, child_types
            )
            parts.extend(child_parts)
            joins.extend(child_joins)
            self.set_row_index(index)
        return parts, joins

    def set_row_index(self, index: str) -> None:
        self.typed.row_index = f"coalesce({index}, 0)" if "." in index else index

    def path_sql(self, source: str, focus: str, types: Any, *, boolean: bool = False) -> str:
        return to_spark(super().path_sql(source, focus, types, boolean=boolean))

    def column_sql(self, column: Column, focus: str, types: Any) -> str:
        found = self.value(column.path.source, focus, types)
        if not model_primitive(found.shape.type):
            raise NotCompilable("complex column values are not typed")
        name = _quote(column.name)
        self.outputs[column.name] = OutputColumn(column.name, "value")
        value = to_spark(found.sql)
        if column.collection:
            listed = value if found.many else f"filter(array({value}), y -> y IS NOT NULL)"
            return f"coalesce({listed}, array()) AS {name}"
        if not found.many:
            return f"{value} AS {name}"
        message = "'column " + column.name.replace("'", "") + " has several values'"
        return (
            f"CASE WHEN size({value}) > 1 THEN raise_error({message}) "
            f"ELSE element_at({value}, 1) END AS {name}"
        )

    def relation(self, source: str) -> str:
        return source


def compile_spark_view(view: View) -> tuple[str, str]:
    """The Spark SQL of ``view`` over a temp view named ``resources`` and that view's schema."""
    compiler = SparkViewCompiler(view)
    compiled = compiler.compile("resources")
    compiler.typed.root.child("resourceType", "string", False)
    schema = ", ".join(
        f"`{key}` {spark_type(shape, many)}"
        for key, (shape, many) in sorted(compiler.typed.root.children.items())
    )
    return compiled.sql, schema


def run_spark(view: View, source: Any, spark: Any) -> list[Json]:
    """The rows of ``view`` on the SparkSession ``spark`` over resources or NDJSON files."""
    sql, schema = compile_spark_view(view)
    reader = spark.read.schema(schema)
    if isinstance(source, (str, Path)):
        from yteso.warehouse.duckdb_views import ndjson_files

        path = Path(source)
        files = ndjson_files(path, view.resource) if path.is_dir() else [path]
        frame = reader.json([str(file) for file in files])
    else:  # a local relation parsed by from_json: no Python worker process per query
        texts = [(orjson.dumps(resource).decode(),) for resource in source]
        raw = spark.createDataFrame(texts, "resource STRING")
        frame = raw.selectExpr(f"from_json(resource, '{schema}') AS r").select("r.*")
    frame.where(frame.resourceType == view.resource).createOrReplaceTempView("resources")
    try:
        records = spark.sql(sql).collect()
    except Exception as error:  # pyspark raises its own hierarchy, not importable here
        raise Invalid(f"the view failed on Spark: {error}") from error
    names = view.column_names()
    return [dict(zip(names, record, strict=True)) for record in records]


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
