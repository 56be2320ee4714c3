"""FHIRPath of view columns to SQL: the FHIRPath SQL compiler plus what views add on top.

https://sql-on-fhir.org/ig/latest/StructureDefinition-ViewDefinition.html: ``%rowIndex`` (the
position in the enclosing forEach), literals as column values (``'A'``, ``1``) and boolean
expressions as column values. Constants, indexers, arithmetic and path comparisons are the
FHIRPath compiler's own (:mod:`yteso.fhirpath.sql`).
"""

from __future__ import annotations

from sqlglot import exp

from yteso.fhirpath import nodes
from yteso.fhirpath.sql import Constants, SqlCompiler, is_boolean_tree
from yteso.warehouse.view_definition import ROW_INDEX, Constant


def constant_values(constants: dict[str, Constant]) -> Constants:
    """The view's constants as the values the compiler binds (dates and times as text)."""
    found: dict[str, str | bool | int | float] = {}
    for name, constant in constants.items():
        value = constant.value
        found[name] = value if isinstance(value, (bool, int, float)) else str(value)
    return found


class ViewPathCompiler(SqlCompiler):
    """Adds ``%rowIndex``, number and boolean literals as collections, boolean columns."""

    def __init__(
        self, dialect: str, resource_type: str | None, constants: dict[str, Constant]
    ) -> None:
        super().__init__(dialect, resource_type, constant_values(constants))
        self.row_index: exp.Expression = exp.Literal.number(0)

    def single(self, value: exp.Expression) -> exp.Expression:
        """The collection of one SQL value (NULL gives a collection whose item is null)."""
        if self.dialect.name == "duckdb":
            json: exp.Expression = exp.cast(exp.func("to_json", value), "JSON")
        else:
            json = exp.Anonymous(this="to_jsonb", expressions=[value])
        return self.dialect.build(self.dialect.single, v=json)

    def collection(
        self, node: nodes.Expression, focus: exp.Expression, types: frozenset[str]
    ) -> tuple[exp.Expression, frozenset[str]]:
        if isinstance(node, nodes.EnvironmentVariable) and node.name == ROW_INDEX:
            return self.single(self.row_index), frozenset({"integer"})
        literal = self.literal(node)
        if isinstance(literal, bool):
            return self.single(exp.Boolean(this=literal)), frozenset({"boolean"})
        if isinstance(literal, (int, float)):
            kind = "integer" if isinstance(literal, int) else "decimal"
            return self.single(exp.Literal.number(literal)), frozenset({kind})
        if is_boolean_tree(node):
            return self.single(self.boolean(node, focus, types)), frozenset({"boolean"})
        return super().collection(node, focus, types)
