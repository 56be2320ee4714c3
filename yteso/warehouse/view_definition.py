"""A ViewDefinition read into a checked tree that every engine runs.

https://sql-on-fhir.org/ig/latest/StructureDefinition-ViewDefinition.html: ``select`` nodes with
``column``, ``forEach``, ``forEachOrNull``, ``repeat``, nested ``select`` and ``unionAll``;
``where`` filters; ``constant`` values named ``%name`` in paths. Structural errors (no
resource, a path that does not parse, unionAll branches with different columns, a constant
without a value) raise :class:`yteso.fhir.errors.Invalid` before any engine runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.fhirpath import FhirPathSyntaxError, parse
from yteso.fhirpath.nodes import EnvironmentVariable, Expression, FunctionCall

ROW_INDEX = "rowIndex"


@dataclass(frozen=True, slots=True)
class Path:
    """A FHIRPath expression: its text (engines compile that) and its parsed tree."""

    source: str
    tree: Expression


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    path: Path
    type: str | None
    collection: bool


@dataclass(frozen=True, slots=True)
class Select:
    """One select node. ``iterate`` is ``forEach``, ``forEachOrNull`` or ``repeat`` (or None)."""

    columns: tuple[Column, ...]
    iterate: str | None
    paths: tuple[Path, ...]  # the forEach/forEachOrNull path, or the repeat paths
    selects: tuple[Select, ...]
    union_all: tuple[Select, ...]

    def column_names(self) -> list[str]:
        names = [column.name for column in self.columns]
        for child in self.selects:
            names.extend(child.column_names())
        if self.union_all:
            names.extend(self.union_all[0].column_names())
        return names


@dataclass(frozen=True, slots=True)
class Constant:
    name: str
    value: Any
    type: str  # the FHIR type of value[x], e.g. "date"


@dataclass(frozen=True, slots=True)
class View:
    resource: str
    root: Select
    where: tuple[Path, ...]
    constants: dict[str, Constant]

    def column_names(self) -> list[str]:
        return self.root.column_names()


def read_view(view: Json) -> View:
    """Check ``view`` and return its tree; :class:`Invalid` names the failing element."""
    resource = view.get("resource")
    if not isinstance(resource, str) or not resource:
        raise Invalid(
            "a ViewDefinition needs a resource type", expression="ViewDefinition.resource"
        )
    constants = _constants(view.get("constant", []))
    root = _select(
        {"select": view.get("select", [])}, "ViewDefinition", frozenset(constants) | {ROW_INDEX}
    )
    if not root.column_names():
        raise Invalid("a ViewDefinition needs at least one column", expression="ViewDefinition")
    where = tuple(
        _path(entry.get("path"), f"ViewDefinition.where[{i}].path", frozenset(constants))
        for i, entry in enumerate(_list(view.get("where", []), "ViewDefinition.where"))
    )
    names = root.column_names()
    if len(set(names)) != len(names):
        raise Invalid("column names must be unique in a view", expression="ViewDefinition")
    return View(resource, root, where, constants)


def _list(value: Any, where: str) -> list[Json]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Invalid(f"{where} must be a list of objects", expression=where)
    return value


def _constants(entries: Any) -> dict[str, Constant]:
    found: dict[str, Constant] = {}
    for i, entry in enumerate(_list(entries, "ViewDefinition.constant")):
        where = f"ViewDefinition.constant[{i}]"
        values = [(key, value) for key, value in entry.items() if key.startswith("value")]
        name = entry.get("name")
        if not isinstance(name, str) or len(values) != 1:
            raise Invalid("a constant needs a name and one value[x]", expression=where)
        key, value = values[0]
        type_name = key[len("value") :]
        found[name] = Constant(name, value, type_name[0].lower() + type_name[1:])
    return found


def _path(value: Any, where: str, names: frozenset[str]) -> Path:
    if not isinstance(value, str):
        raise Invalid("a path must be a FHIRPath string", expression=where)
    try:
        tree = parse(value)
    except FhirPathSyntaxError as error:
        raise Invalid(f"{value!r} is not FHIRPath: {error}", expression=where) from error
    for variable in _variables(tree):
        if variable not in names:
            raise Invalid(f"%{variable} is not a constant of the view", expression=where)
    return Path(value, tree)


def _variables(tree: Expression) -> set[str]:
    if isinstance(tree, EnvironmentVariable):
        return {tree.name}
    found: set[str] = set()
    for field_name in tree.__dataclass_fields__:
        value = getattr(tree, field_name)
        if isinstance(value, Expression):
            found |= _variables(value)
    if isinstance(tree, FunctionCall):
        for argument in tree.arguments:
            found |= _variables(argument)
    return found


def _select(node: Json, where: str, names: frozenset[str]) -> Select:
    columns = tuple(
        _column(entry, f"{where}.column[{i}]", names)
        for i, entry in enumerate(_list(node.get("column", []), f"{where}.column"))
    )
    iterate, paths = _iteration(node, where, names)
    selects = tuple(
        _select(entry, f"{where}.select[{i}]", names)
        for i, entry in enumerate(_list(node.get("select", []), f"{where}.select"))
    )
    union_all = tuple(
        _select(entry, f"{where}.unionAll[{i}]", names)
        for i, entry in enumerate(_list(node.get("unionAll", []), f"{where}.unionAll"))
    )
    if union_all:
        first = union_all[0].column_names()
        for i, branch in enumerate(union_all[1:], start=1):
            if branch.column_names() != first:
                raise Invalid(
                    "unionAll branches need the same columns in the same order",
                    expression=f"{where}.unionAll[{i}]",
                )
    return Select(columns, iterate, paths, selects, union_all)


def _iteration(
    node: Json, where: str, names: frozenset[str]
) -> tuple[str | None, tuple[Path, ...]]:
    kinds = [kind for kind in ("forEach", "forEachOrNull", "repeat") if kind in node]
    if len(kinds) > 1:
        raise Invalid(
            "a select has at most one of forEach, forEachOrNull, repeat", expression=where
        )
    if not kinds:
        return None, ()
    kind = kinds[0]
    value = node[kind]
    if kind == "repeat":
        if not isinstance(value, list) or not value:
            raise Invalid("repeat needs a list of paths", expression=f"{where}.repeat")
        return kind, tuple(
            _path(path, f"{where}.repeat[{i}]", names) for i, path in enumerate(value)
        )
    return kind, (_path(value, f"{where}.{kind}", names),)


def _column(entry: Json, where: str, names: frozenset[str]) -> Column:
    name = entry.get("name")
    if not isinstance(name, str) or not name.replace("_", "a").isalnum():
        raise Invalid("a column needs a name of letters, digits and _", expression=where)
    path = _path(entry.get("path"), f"{where}.path", names)
    type_name = entry.get("type")
    collection = entry.get("collection") is True
    return Column(name, path, type_name if isinstance(type_name, str) else None, collection)
