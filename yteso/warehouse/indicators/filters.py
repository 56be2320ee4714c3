"""Row filters as data: the ``where`` lists of indicator and data-quality definitions.

A filter is a JSON object over the columns of a view row; a list of them is ANDed, ``{"any":
[...]}`` ORs. They compile to DuckDB SQL with every value rendered as a quoted literal, so a
definition can never inject SQL; a bad filter raises :class:`Invalid` naming its path
(``Indicator.numerator.where[1].op``).

    {"column": "status", "op": "eq", "value": "completed"}
    {"column": "code", "op": "prefix", "value": ["I10", "I11"]}
    {"column": "code", "op": "in_value_set", "value": "http://hl7.org/fhir/ValueSet/icd-10"}
    {"column": "dose", "op": "ge", "value": 3}
    {"column": "deceased", "op": "absent"}
    {"column": "occurrence", "op": "le", "anchor": true}                  # <= the unit's date
    {"column": "recorded", "op": "le", "column2": "occurrence", "days": 7}
    {"column": "recorded", "op": "le", "column2": "onset", "hours": 48}
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from yteso.fhir.errors import Invalid
from yteso.warehouse.indicators.code_lists import value_set

COMPARISONS = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
OPS = frozenset(
    {*COMPARISONS, "in", "not_in", "prefix", "present", "absent", "matches", "in_value_set"}
)
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def sql_name(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def view_table(use: Any) -> str:
    """The table holding the rows of a view (a :class:`ViewUse`)."""
    return sql_name(f"v_{use.name}")


def literal(value: Any, path: str) -> str:
    """A SQL literal for a JSON scalar (strings quoted, numbers as written)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise Invalid(f"{path}: expected a string, number or boolean, got {value!r}")


def as_date(sql: str) -> str:
    """A FHIR date/dateTime text as a DATE (its local calendar day, the first 10 characters)."""
    return f"TRY_CAST(left({sql}, 10) AS DATE)"


def as_instant(sql: str) -> str:
    return f"TRY_CAST({sql} AS TIMESTAMPTZ)"


def column_name(name: Any, columns: Collection[str], path: str) -> str:
    if not isinstance(name, str) or not IDENTIFIER.match(name) or name not in columns:
        known = ", ".join(sorted(columns))
        raise Invalid(f"{path}: unknown column {name!r} (the view has {known})")
    return name


def compile_filters(
    filters: Any, columns: Collection[str], alias: str, path: str, anchor: str | None = None
) -> str:
    """The SQL condition of a list of filters (TRUE when empty). ``anchor``: the SQL of the
    unit's date, which filters with ``"anchor": true`` compare against."""
    if filters is None:
        return "TRUE"
    if not isinstance(filters, list):
        raise Invalid(f"{path}: expected a list of filters")
    parts = [
        compile_filter(f, columns, alias, f"{path}[{i}]", anchor) for i, f in enumerate(filters)
    ]
    return " AND ".join(f"({p})" for p in parts) or "TRUE"


def compile_filter(
    spec: Any, columns: Collection[str], alias: str, path: str, anchor: str | None
) -> str:
    if not isinstance(spec, dict):
        raise Invalid(f"{path}: a filter is an object")
    if "any" in spec:
        options = spec["any"]
        if not isinstance(options, list) or not options:
            raise Invalid(f"{path}.any: expected a non-empty list of filters")
        ors = [
            compile_filter(o, columns, alias, f"{path}.any[{i}]", anchor)
            for i, o in enumerate(options)
        ]
        return " OR ".join(f"({o})" for o in ors)
    column = f"{alias}.{column_name(spec.get('column'), columns, f'{path}.column')}"
    op = spec.get("op")
    if op not in OPS:
        raise Invalid(f"{path}.op: unknown operator {op!r} (one of {', '.join(sorted(OPS))})")
    if op == "present":
        return f"{column} IS NOT NULL"
    if op == "absent":
        return f"{column} IS NULL"
    if op in COMPARISONS and (spec.get("anchor") or "column2" in spec):
        return _relative(spec, op, column, columns, alias, path, anchor)
    if "value" not in spec:
        raise Invalid(f"{path}.value: the operator {op} needs a value")
    value = spec["value"]
    if op == "in_value_set":
        # a semi-join on the unnested list: DuckDB hashes it (an IN list of 12,000 literals
        # is tested one by one, ~50x slower over a million rows)
        codes = ", ".join(literal(code, path) for code in sorted(value_set(value, f"{path}.value")))
        return f"CAST({column} AS VARCHAR) IN (SELECT unnest([{codes}]))"
    if op in ("in", "not_in", "prefix"):
        values = value if isinstance(value, list) else [value]
        if not values:
            raise Invalid(f"{path}.value: expected at least one value")
        texts = [literal(v, f"{path}.value[{i}]") for i, v in enumerate(values)]
        if op == "prefix":
            return " OR ".join(f"starts_with(CAST({column} AS VARCHAR), {t})" for t in texts)
        listed = ", ".join(texts)
        negation = "NOT " if op == "not_in" else ""
        return f"{column} {negation}IN ({listed})"
    if op == "matches":
        pattern = value if isinstance(value, str) else ""
        try:
            re.compile(pattern)
        except re.error as error:
            raise Invalid(f"{path}.value: not a regular expression ({error})") from error
        return f"regexp_full_match(CAST({column} AS VARCHAR), {literal(pattern, path)})"
    return f"{column} {COMPARISONS[op]} {literal(value, f'{path}.value')}"


def _relative(
    spec: dict[str, Any],
    op: str,
    column: str,
    columns: Collection[str],
    alias: str,
    path: str,
    anchor: str | None,
) -> str:
    """``column OP other + shift``, compared as dates (``days``) or instants (``hours``)."""
    days, hours = spec.get("days", 0), spec.get("hours")
    for name, shift in (("days", days), ("hours", hours)):
        if shift is not None and (not isinstance(shift, int) or isinstance(shift, bool)):
            raise Invalid(f"{path}.{name}: expected a whole number")
    if spec.get("anchor"):
        if anchor is None:
            raise Invalid(f"{path}.anchor: only numerator filters compare with the unit's date")
        left, right = as_date(column), anchor
    else:
        other = f"{alias}.{column_name(spec.get('column2'), columns, f'{path}.column2')}"
        if hours is not None:
            left, right = as_instant(column), as_instant(other)
            return f"{left} {COMPARISONS[op]} {right} + INTERVAL ({hours}) HOUR"
        left, right = as_date(column), as_date(other)
    return f"{left} {COMPARISONS[op]} {right} + INTERVAL ({days}) DAY"
