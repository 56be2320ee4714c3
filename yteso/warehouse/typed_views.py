"""Views on DuckDB over typed columns: resources parsed once into the elements the view reads.

https://duckdb.org/docs/data/json/loading_json: NDJSON is read by ``read_ndjson`` with the
``columns`` the view's :class:`~yteso.warehouse.typed_paths.Shape` gives (other sources go
through ``json_transform`` with the same structure), so DuckDB never walks JSON text per
step. The select structure (forEach, unionAll, nested selects) is the JSON compiler's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from yteso.fhirpath import parse
from yteso.fhirpath.sql import NotCompilable
from yteso.warehouse.typed_paths import Shape, TypedPathCompiler, Value
from yteso.warehouse.view_definition import Column, Select, View
from yteso.warehouse.view_paths import constant_values
from yteso.warehouse.view_sql import STRING_TYPES, CompiledView, OutputColumn, ViewSqlCompiler


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def structure(shape: Shape) -> Any:
    """The ``json_transform`` structure of a shape."""
    if not shape.children:
        return shape.sql_type()
    return {
        key: [structure(child)] if many else structure(child)
        for key, (child, many) in shape.children.items()
    }


class TypedViewSqlCompiler(ViewSqlCompiler):
    """DuckDB only; ``source`` is a list of NDJSON files or a relation with ``resource`` JSON."""

    root_focus = "r"
    null_item = "NULL"

    def __init__(self, view: View, raw: frozenset[tuple[str, ...]] = frozenset()) -> None:
        super().__init__(view, "duckdb")
        constants: dict[str, object] = dict(constant_values(view.constants))
        self.typed = TypedPathCompiler(view.resource, constants, raw)

    def root_types(self) -> Any:
        return self.typed.root

    def set_row_index(self, index: str) -> None:
        self.typed.row_index = index

    def relation(self, source: str) -> str:
        self.typed.root.child("resourceType", "string", False)
        columns = {key: shape for key, (shape, _) in self.typed.root.children.items()}
        kind = _literal(self.view.resource)
        if source.startswith("["):  # NDJSON files
            types = ", ".join(
                f"{_quote(key)}: {_literal(self._column_type(key, shape))}"
                for key, shape in columns.items()
            )
            return (
                f"(SELECT * FROM read_ndjson({source}, columns = {{{types}}}) "
                f"WHERE resourceType = {kind})"
            )
        shape_json = _literal(orjson.dumps(structure(self.typed.root)).decode())
        return (
            f"(SELECT unnest(json_transform(t.resource, {shape_json})) FROM ({source}) AS t "
            f"WHERE json_extract_string(t.resource, '$.resourceType') = {kind})"
        )

    def _column_type(self, key: str, shape: Shape) -> str:
        many = self.typed.root.children[key][1]
        return shape.sql_type() + ("[]" if many else "")

    def repeat_items(self, select: Select, focus: str, types: Any) -> tuple[str, Any]:
        raise NotCompilable("repeat is not compiled on typed columns")

    def value(self, source: str, focus: str, shape: Shape) -> Value:
        return self.typed.value(parse(source), Value(focus, shape, False))

    def path_sql(self, source: str, focus: str, types: Any, *, boolean: bool = False) -> str:
        if boolean:
            return self.typed.boolean(parse(source), Value(focus, types, False))
        return self.value(source, focus, types).sql

    def collection(self, source: str, focus: str, types: Any) -> tuple[str, Any]:
        found = self.value(source, focus, types)
        if found.many:
            return f"coalesce({found.sql}, [])", found.shape
        return f"list_filter([{found.sql}], lambda y: y IS NOT NULL)", found.shape

    def column_sql(self, column: Column, focus: str, types: Any) -> str:
        found = self.value(column.path.source, focus, types)
        found.shape.sql_type()  # a whole complex element has no typed column
        name = _quote(column.name)
        self.outputs[column.name] = OutputColumn(column.name, "value")
        if not model_primitive(found.shape.type):
            raise NotCompilable("complex column values are not typed")
        if column.type in STRING_TYPES and found.shape.type not in STRING_TYPES:
            raise NotCompilable("a string column of a non-string value")
        if column.collection:
            if found.many:
                return f"coalesce({found.sql}, []) AS {name}"
            return f"list_filter([{found.sql}], lambda y: y IS NOT NULL) AS {name}"
        if not found.many:
            return f"{found.sql} AS {name}"
        message = _literal(f"column {column.name} has several values")
        return (
            f"CASE WHEN array_length({found.sql}) > 1 THEN error({message}) "
            f"ELSE ({found.sql})[1] END AS {name}"
        )


def model_primitive(type_name: str) -> bool:
    from yteso.fhirpath import model

    return model.is_primitive(type_name)


def compile_typed_view(view: View, files: list[Path] | None, source: str = "") -> CompiledView:
    """The typed SQL of ``view`` over NDJSON ``files`` (or a relation with ``resource`` JSON)."""
    relation = "[" + ", ".join(_literal(str(f)) for f in files) + "]" if files else source
    compiler = TypedViewSqlCompiler(view)
    compiled = compiler.compile(relation)
    if not compiler.typed.wants_raw:
        return compiled
    return TypedViewSqlCompiler(view, frozenset(compiler.typed.wants_raw)).compile(relation)
