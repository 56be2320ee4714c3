"""Composite search parameters as SQL id sets (``code-value-quantity=http://loinc.org|8867-4$gt100``).

https://hl7.org/fhir/R4/search.html#composite: every component must match on the *same*
element the composite's expression selects. The component rows (:mod:`composite_rows`) carry
that element's ordinal, so the components are paired by ``(id, element)``, innermost last.
``combo-*`` parameters (a resource's own code and its components' codes) are unions of
composites. Split from :mod:`search_compiler`, which calls in here for composite parameters.
"""

from __future__ import annotations

from collections.abc import Callable

from yteso.fhir.definitions import SearchParameterDefinition
from yteso.fhir.errors import Invalid
from yteso.store.composite_rows import component_param, component_types, union_of
from yteso.store.param_keys import cached_key
from yteso.store.search_conditions import ValueConditions
from yteso.store.sql_dialect import SqlParams

#: ``SearchCompiler._select``: (resource type, table, param, where) -> ``SELECT s.id ...``.
Select = Callable[[str | None, str, str, str], str]
Definitions = dict[str, SearchParameterDefinition]


def first_component_rows(
    select: Select, resource_type: str, definitions: Definitions, code: str
) -> str:
    """The ids with some element holding every component of ``code`` (its first component's
    rows: a component row exists only for an element that has them all), for ``:missing``."""
    sets = []
    for part in union_of(resource_type, code) or (code,):
        tables = component_types(definitions[part], definitions)
        if tables is None:
            raise Invalid(f"search parameter '{code}' is not supported", expression=code)
        sets.append(select(resource_type, tables[0], component_param(part, 0), ""))
    return " UNION ".join(sets)


class CompositeMatch:
    """Matches composite values; binds every value through ``params``."""

    def __init__(
        self, values: ValueConditions, params: SqlParams, definitions: Definitions
    ) -> None:
        self.values = values
        self.params = params
        self.definitions = definitions

    def ids(
        self, resource_type: str, definition: SearchParameterDefinition, values: tuple[str, ...]
    ) -> str:
        """``SELECT s.id ...``: the resources with an element matching any of ``values``."""
        code = definition.code
        tables = component_types(definition, self.definitions)
        if tables is None:
            raise Invalid(f"search parameter '{code}' is not supported", expression=code)
        parts = union_of(resource_type, code)  # combo-*: the resource's and its components'
        if parts:
            return " UNION ".join(
                self.ids(resource_type, self.definitions[part], values) for part in parts
            )
        sets = []
        for value in values:
            pieces = split_components(value)
            if len(pieces) != len(tables):
                raise Invalid(
                    f"{code}: {value!r} needs {len(tables)} parts joined by $", expression=code
                )
            sets.append(self._nested(resource_type, code, tables, pieces))
        return " UNION ".join(sets)

    def _nested(
        self, resource_type: str, code: str, tables: tuple[str, ...], pieces: list[str]
    ) -> str:
        """Each component's rows restricted to the ``(id, element)`` pairs of the next."""
        inner = ""
        for position in reversed(range(len(tables))):
            table, piece = tables[position], pieces[position]
            where = self.values.any_of(table, code, (piece,), None)
            if inner:
                where += f" AND (s.id, s.element) IN ({inner})"
            pkey = cached_key(resource_type, component_param(code, position))
            columns = "s.id" if position == 0 else "s.id, s.element"
            inner = (
                f"SELECT {columns} FROM search_{table} s"
                f" WHERE s.pkey = {self.params.bind(pkey)}{where}"
            )
        return inner


def split_components(value: str) -> list[str]:
    """``a$b`` -> ``["a", "b"]``; ``\\$`` is a literal dollar inside a component
    (https://hl7.org/fhir/R4/search.html#escaping)."""
    pieces, current, escaped = [], [], False
    for char in value:
        if escaped:
            current.append(char if char == "$" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "$":
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current) + ("\\" if escaped else ""))
    return pieces


__all__ = ["CompositeMatch", "first_component_rows", "split_components"]
