"""The search compiler: one FHIR search parameter -> a SQL set of matching resource ids.

https://hl7.org/fhir/R4/search.html. Every parameter becomes ``c.id [NOT] IN (subquery)`` over
its index table (:mod:`index_tables`), so chains (``subject:Patient.organization.name``) and
reverse chains (``_has:Observation:patient:code``) nest to any depth as subqueries of the same
shape. Values are always bound (:class:`SqlParams`); only table and column names, which come
from this module, are written into the SQL. The same SQL runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from yteso.fhir.definitions import (
    SearchParameterDefinition,
    patient_compartment,
    search_parameters,
)
from yteso.fhir.errors import Forbidden, Invalid
from yteso.store.base import Reach, SearchParam
from yteso.store.custom_params import custom_parameters
from yteso.store.date_ranges import date_condition
from yteso.store.param_keys import cached_key
from yteso.store.search_composites import CompositeMatch, first_component_rows
from yteso.store.search_conditions import ValueConditions
from yteso.store.search_date_window import class_floors, window_start
from yteso.store.shared_rows import row_source, rows_test
from yteso.store.sql_dialect import SqlDialect, SqlParams

TABLE_OF_TYPE = {
    "string": "string",
    "token": "token",
    "date": "date",
    "number": "number",
    "quantity": "quantity",
    "reference": "reference",
    "uri": "uri",
}
# Parameters handled outside the index tables (result controls or follow-up queries).
NOT_FILTERS = frozenset({"_include", "_revinclude"})
SPECIAL = frozenset(
    {
        "_id",
        "_lastUpdated",
        "_has",
        "_text",
        "_content",
        "_compartment",
        "_type",
        "_list",
        *NOT_FILTERS,
    }
)
MAX_CHAIN_DEPTH = 8


@dataclass(frozen=True)
class IdSet:
    """A subquery selecting ``id`` (or ``resource_type, id`` at system level); ``negated``:
    the parameter matches resources *not* in it (``:not``, ``:missing=true``)."""

    sql: str
    negated: bool = False


@cache
def definitions_for(resource_type: str | None) -> dict[str, SearchParameterDefinition]:
    """The official parameters of a type plus the registered custom ones."""
    official = search_parameters(resource_type or "Resource")
    custom = custom_parameters(resource_type or "Resource")
    return {**official, **custom} if custom else official


def supported_params(resource_type: str | None) -> frozenset[str]:
    return frozenset(definitions_for(resource_type)) | SPECIAL


def full_name(param: SearchParam) -> str:
    return param.name + (f":{param.modifier}" if param.modifier else "")


class MarkedParams(SqlParams):
    """Binds values under unique markers, so nested subqueries may be written in any order;
    :meth:`rebind` then hands them to the real statement in their textual order."""

    _MARK = re.compile("\x00([0-9]+)\x00")

    def __init__(self, dialect: SqlDialect) -> None:
        super().__init__(dialect)

    def bind(self, value: object) -> str:
        self.values.append(value)
        return f"\x00{len(self.values) - 1}\x00"

    def rebind(self, sql: str, target: SqlParams) -> str:
        return self._MARK.sub(lambda m: target.bind(self.values[int(m.group(1))]), sql)


class SearchCompiler:
    """Compiles parameters of one search; binds every value (finally into ``target``).
    ``reach``: what the caller may see, ANDed into every set over another type (chains,
    ``_has``, ``_list``) so that such criteria never look at hidden resources."""

    def __init__(self, target: SqlParams, now: datetime, reach: Reach | None = None) -> None:
        self.target = target
        self.params = MarkedParams(target.dialect)
        self.now = now
        self.values = ValueConditions(self.params, now)
        self.reach = reach
        self.naming = ""  # the parameter being compiled, for a refusal to name

    def condition(self, resource_type: str | None, param: SearchParam) -> str:
        """A condition on the current-version row ``c``."""
        self.naming = full_name(param)
        found = self.id_set(resource_type, full_name(param), param.values, 0)
        key = "c.id" if resource_type is not None else "(c.resource_type, c.id)"
        sql = f"{key} {'NOT IN' if found.negated else 'IN'} ({found.sql})"
        return self.params.rebind(sql, self.target)

    def over_types(self, types: tuple[str, ...], param: SearchParam) -> str:
        """A system search over several types (``_type=Patient,Practitioner&name=x``): the
        parameter compiled for each listed type, ORed on the row's type. Only parameters every
        listed type has are allowed (https://hl7.org/fhir/R4/search.html#_type)."""
        code = param.name.partition(".")[0].partition(":")[0]
        missing = [t for t in types if not _has_param(t, code)]
        if missing:
            raise Invalid(
                f"search parameter '{code}' is not defined for {', '.join(missing)} (_type)",
                expression=code,
            )
        self.naming = full_name(param)
        ors = []
        for listed in types:
            found = self.id_set(listed, full_name(param), param.values, 0)
            test = "NOT IN" if found.negated else "IN"
            bound = self.params.bind(listed)
            ors.append(f"(c.resource_type = {bound} AND c.id {test} ({found.sql}))")
        return self.params.rebind("(" + " OR ".join(ors) + ")", self.target)

    def same_row(
        self, resource_type: str | None, group: tuple[SearchParam, ...], window: bool = True
    ) -> str:
        """Searches of one indexed parameter that must hold on the same index row (a date
        range ``ge``/``lt``: one range scan of the index rather than two). An overlap test
        (``ge``+``lt``, ``ap``) is scanned per width class, bounded on both ends."""
        definition = definitions_for(resource_type)[group[0].name]
        table = TABLE_OF_TYPE[definition.type]
        start = None
        if table == "date" and window:
            start = window_start([p.values[0] for p in group], self.now, definition.code)
        floors = [(None, None)] if start is None else class_floors(start)
        # SQLite's approximate statistics (analysis_limit) rate the one-sided `high > X` of
        # search_date_high as selective as a window: for the open class it read every row
        # after X (103,301 encounters at 1M, 48 ms). `+` (a no-op on the value) keeps `high`
        # out of index choice, so each window is scanned through its own index.
        unindexed = start is not None and self.params.dialect.name == "sqlite"
        selects = []
        for width_class, floor in floors:
            where = "" if width_class is None else f" AND s.width_class = {width_class}"
            if floor is not None:
                where += f" AND s.low >= {self.params.bind(floor)}"
            tests = "".join(self.values.any_of(table, p.name, p.values, None) for p in group)
            where += tests.replace("s.high", "+s.high") if unindexed else tests
            selects.append(self._select(resource_type, table, definition.code, where))
        sql = f"c.id IN ({' UNION ALL '.join(selects)})"
        return self.params.rebind(sql, self.target)

    def id_set(
        self, resource_type: str | None, name: str, values: tuple[str, ...], depth: int
    ) -> IdSet:
        if depth > MAX_CHAIN_DEPTH:
            raise Invalid(f"{name}: chains nest at most {MAX_CHAIN_DEPTH} deep", expression=name)
        if not values or any(v == "" for v in values):
            raise Invalid(f"search parameter '{name}' has an empty value", expression=name)
        if name.startswith("_has:"):
            return self._has(resource_type, name, values, depth)
        head, dot, rest = name.partition(".")
        if dot:
            return self._chain(resource_type, head, rest, values, depth)
        code, _, modifier = name.partition(":")
        if code in ("_id", "_lastUpdated", "_type"):
            return self._column(resource_type, code, modifier, values)
        if code in ("_text", "_content"):
            return self._text(resource_type, code, values)
        if code == "_compartment":
            return self._compartment(resource_type, values)
        if code == "_list":
            return self._list(resource_type, modifier, values)
        definition = definitions_for(resource_type).get(code)
        if definition is None:
            raise Invalid(f"unknown search parameter '{code}'", expression=code)
        return self._indexed(resource_type, definition, modifier or None, values, depth)

    def _scope(self, resource_type: str | None, alias: str = "s") -> tuple[str, str]:
        """The selected key columns and the type restriction of one index-table alias."""
        if resource_type is None:
            return f"{alias}.resource_type, {alias}.id", "1 = 1"
        return f"{alias}.id", f"{alias}.resource_type = {self.params.bind(resource_type)}"

    def _select(self, resource_type: str | None, table: str, param: str, where: str) -> str:
        """The ids whose ``param`` rows of ``table`` pass ``where``; a parameter sharing
        another's rows (:mod:`shared_rows`) reads those, filtered by target type."""
        source = row_source(resource_type, param, table)
        if resource_type is None:
            columns, scope = self._scope(resource_type)
            rows = rows_test(None, source, "s", self.params.bind)
            return f"SELECT {columns} FROM search_{table} s WHERE {scope} AND {rows}{where}"
        # the parameter key implies the type; the target type lands in the tail
        rows = rows_test(resource_type, source, "s", self.params.bind)
        return f"SELECT s.id FROM search_{table} s WHERE {rows}{where}"

    def _indexed(
        self,
        resource_type: str | None,
        definition: SearchParameterDefinition,
        modifier: str | None,
        values: tuple[str, ...],
        depth: int,
    ) -> IdSet:
        code = definition.code
        if definition.type == "composite" and modifier == "missing":
            return self._composite_missing(resource_type, definition, values)
        if definition.type == "composite":
            if modifier:
                raise Invalid(
                    f"modifier ':{modifier}' is not supported on '{code}'", expression=code
                )
            return self._composite(resource_type, definition, values)
        table = TABLE_OF_TYPE.get(definition.type)
        if table is None:
            raise Invalid(f"search parameter '{code}' is not supported", expression=code)
        if modifier == "missing":
            return self._missing(resource_type, table, code, values)
        if table == "reference" and modifier == "identifier":
            ors = self.values.any_of("token", code, values, None)
            return IdSet(self._select(resource_type, "token", f"{code}:identifier", ors))
        if table == "token" and modifier == "of-type":
            ors = self.values.of_type(code, values)
            return IdSet(self._select(resource_type, "token", f"{code}:of-type", ors))
        negated = table == "token" and modifier in ("not", "not-in")
        if negated:
            modifier = None if modifier == "not" else "in"
        if table == "reference" and modifier not in (None, "missing"):
            if not any(modifier == target for target in definition.target):
                raise Invalid(f"{code}: ':{modifier}' is not a target type", expression=code)
        ors = self.values.any_of(table, code, values, modifier)
        return IdSet(self._select(resource_type, table, code, ors), negated)

    def _missing(
        self, resource_type: str | None, table: str, code: str, values: tuple[str, ...]
    ) -> IdSet:
        if values not in (("true",), ("false",)):
            raise Invalid(f"{code}:missing takes true or false", expression=code)
        return IdSet(self._select(resource_type, table, code, ""), negated=values[0] == "true")

    def _column(
        self, resource_type: str | None, code: str, modifier: str, values: tuple[str, ...]
    ) -> IdSet:
        if modifier:
            raise Invalid(f"modifier ':{modifier}' is not supported on '{code}'", expression=code)
        columns, scope = self._scope(resource_type, "c2")
        if code == "_id":
            test = f"c2.id IN ({self.params.bind_all(values)})"
        elif code == "_type":  # a system search over several types
            test = f"c2.resource_type IN ({self.params.bind_all(values)})"
        else:
            test = "(" + " OR ".join(self._instant_test(v) for v in values) + ")"
        sql = (
            f"SELECT {columns} FROM resource_current c2 WHERE {scope} AND NOT c2.deleted AND {test}"
        )
        return IdSet(sql)

    def _instant_test(self, value: str) -> str:
        return last_updated_test(self.params, "c2.last_updated", value, self.now)

    def _text(self, resource_type: str | None, code: str, values: tuple[str, ...]) -> IdSet:
        ors = self.values.any_of("text", code, values, "contains")
        return IdSet(self._select(resource_type, "text", code, ors))

    def _compartment(self, resource_type: str | None, values: tuple[str, ...]) -> IdSet:
        """``Patient/123``: resources linked to it by the R4 patient compartment definition's
        parameters for their type (https://hl7.org/fhir/R4/compartmentdefinition-patient.html)."""
        compartment, _, owner = values[0].partition("/")
        if compartment != "Patient" or not owner or len(values) != 1 or resource_type is None:
            raise Invalid("only the Patient compartment is supported", expression="_compartment")
        links = patient_compartment().get(resource_type, ())
        ors = []
        if resource_type == "Patient":
            ors.append(
                f"SELECT c2.id FROM resource_current c2 WHERE c2.resource_type = "
                f"{self.params.bind(resource_type)} AND c2.id = {self.params.bind(owner)}"
            )
        for link in links:
            reference = f"{compartment}/{owner}"
            ors.append(self.id_set(resource_type, link, (reference,), 1).sql)
        if not ors:
            raise Invalid(
                f"{resource_type} is not in the Patient compartment", expression="_compartment"
            )
        return IdSet(" UNION ".join(ors))

    def _list(self, resource_type: str | None, modifier: str, values: tuple[str, ...]) -> IdSet:
        """``_list=42``: the resources List/42 references in ``entry.item`` (its ``item``
        index rows; https://hl7.org/fhir/R4/search.html#list). Functional lists
        (``$current-allergies``) are not supported."""
        if modifier:
            raise Invalid(f"modifier ':{modifier}' is not supported on '_list'", expression="_list")
        if any(value.startswith("$") for value in values):
            raise Invalid("_list: functional lists ($...) are not supported", expression="_list")
        columns = "r.target_id" if resource_type is not None else "r.target_type, r.target_id"
        sql = (
            f"SELECT {columns} FROM search_reference r WHERE r.resource_type = "
            f"{self.params.bind('List')} AND r.id IN ({self.params.bind_all(values)})"
            f" AND r.param = {self.params.bind('item')}{self._reached('List', 'r.id')}"
        )
        if resource_type is not None:
            sql += f" AND r.target_type = {self.params.bind(resource_type)}"
        return IdSet(sql)

    def _chain(
        self, resource_type: str | None, head: str, rest: str, values: tuple[str, ...], depth: int
    ) -> IdSet:
        code, _, target_type = head.partition(":")
        definition = definitions_for(resource_type).get(code)
        if definition is None or definition.type != "reference":
            raise Invalid(f"'{code}' is not a reference parameter to chain on", expression=code)
        next_code = rest.partition(".")[0].partition(":")[0]
        targets = [target_type] if target_type else list(definition.target)
        targets = [t for t in targets if _has_param(t, next_code)]
        if not targets:
            raise Invalid(f"{head}.{rest}: no target type has '{next_code}'", expression=code)
        ors = []
        for target in targets:
            inner = self.id_set(target, rest, values, depth + 1)
            bound = self.params.bind(target)
            test = "NOT IN" if inner.negated else "IN"
            reached = self._reached(target, "s.target_id")
            ors.append(f"(s.target_type = {bound} AND s.target_id {test} ({inner.sql}){reached})")
        return IdSet(self._select(resource_type, "reference", code, f" AND ({' OR '.join(ors)})"))

    def _has(
        self, resource_type: str | None, name: str, values: tuple[str, ...], depth: int
    ) -> IdSet:
        parts = name.split(":", 3)
        if len(parts) < 4 or resource_type is None:
            raise Invalid(f"'{name}' is not _has:Type:reference:parameter", expression="_has")
        _, source_type, reference, rest = parts
        definition = definitions_for(source_type).get(reference)
        if definition is None or definition.type != "reference":
            raise Invalid(
                f"{name}: '{reference}' is not a reference of {source_type}", expression="_has"
            )
        inner = self.id_set(source_type, rest, values, depth + 1)
        test = "NOT IN" if inner.negated else "IN"
        rows = row_source(source_type, reference, "reference")
        # a parameter sharing rows filtered to another target type names none of this type
        never = "" if rows.target_type in (None, resource_type) else " AND 1 = 0"
        # the reach goes before the inner set: search_sql probes that last set per row
        # the type too, though the key implies it: a per-row probe of the referencing rows
        # then finds them by (id, resource_type), search_reference_resource's whole key
        sql = (
            f"SELECT r.target_id FROM search_reference r WHERE r.resource_type = "
            f"{self.params.bind(source_type)} AND r.pkey = "
            f"{self.params.bind(cached_key(source_type, rows.param))}"
            f" AND r.target_type = {self.params.bind(resource_type)}{never}"
            f"{self._reached(source_type, 'r.id')} AND r.id {test} ({inner.sql})"
        )
        return IdSet(sql)

    def _reached(self, resource_type: str, column: str) -> str:
        """``AND column IN (...)`` for each criterion selecting what the caller may see of
        ``resource_type``; a caller whose view of it is decided per resource (Consents,
        labels) is refused the parameter, whatever the data, so the refusal tells nothing."""
        if self.reach is None:
            return ""
        criteria = self.reach.criteria(resource_type)
        if criteria is None:
            name = self.naming or resource_type
            raise Forbidden(
                f"{name}: criteria over {resource_type} are not available to this token "
                f"(what it may see of {resource_type} is decided resource by resource)",
                expression=name,
            )
        reach, self.reach = self.reach, None  # the criteria themselves look into no other type
        try:
            sets = [self.id_set(resource_type, full_name(p), p.values, 0) for p in criteria]
        finally:
            self.reach = reach
        return "".join(f" AND {column} {'NOT IN' if s.negated else 'IN'} ({s.sql})" for s in sets)

    def _composite_missing(
        self,
        resource_type: str | None,
        definition: SearchParameterDefinition,
        values: tuple[str, ...],
    ) -> IdSet:
        """``:missing``: whether some element has every component (its first component's rows)."""
        code = definition.code
        if values not in (("true",), ("false",)) or resource_type is None:
            raise Invalid(f"{code}:missing takes true or false", expression=code)
        sql = first_component_rows(
            self._select, resource_type, definitions_for(resource_type), code
        )
        return IdSet(sql, negated=values[0] == "true")

    def _composite(
        self,
        resource_type: str | None,
        definition: SearchParameterDefinition,
        values: tuple[str, ...],
    ) -> IdSet:
        if resource_type is None:
            raise Invalid(
                f"search parameter '{definition.code}' is not supported", expression=definition.code
            )
        composites = CompositeMatch(self.values, self.params, definitions_for(resource_type))
        return IdSet(composites.ids(resource_type, definition, values))


def _has_param(resource_type: str, code: str) -> bool:
    return code in SPECIAL or code in definitions_for(resource_type)


def last_updated_test(params: SqlParams, column: str, value: str, now: datetime) -> str:
    """``_lastUpdated`` as bound bounds on ``column`` (half-open range, negated for ``ne``)."""
    condition = date_condition(value, now)
    bounds = []
    if condition.lower is not None:
        bounds.append(f"{column} >= {params.bind(params.dialect.bind_instant(condition.lower))}")
    if condition.upper is not None:
        bounds.append(f"{column} < {params.bind(params.dialect.bind_instant(condition.upper))}")
    test = " AND ".join(bounds) or "1 = 1"
    return f"NOT ({test})" if condition.negate else f"({test})"
