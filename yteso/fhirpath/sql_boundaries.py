"""``lowBoundary()``/``highBoundary()`` as portable SQL text (DuckDB syntax, sqlglot transpiles).

https://build.fhir.org/ig/HL7/FHIRPath/#lowboundaryprecision-integer--decimal--date--datetime--time
with the semantics of :mod:`yteso.fhirpath.boundaries` (the Python engine): a decimal's
boundaries are the value -/+ half a unit of its last digit, floored/ceiled to the precision
(default 8); a date/dateTime/time is filled with its least/greatest components (the last day
of the month from the calendar) and, for an absent offset, +14:00/-12:00. Only functions every
engine has (``substring``, ``length``, ``concat``, ``CASE``, ``CAST``, ``floor``, ``repeat``)
are used, so the same text serves DuckDB, PostgreSQL (via sqlglot) and Spark (via sqlglot).

Limits, documented in docs/warehouse.md: decimals are computed as DECIMAL(38,18) (|value| under
10^12, at most 17 fraction digits); a precision argument must be a literal of at most 8.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from yteso.fhirpath import nodes
from yteso.fhirpath.sql import NotCompilable

NUMBER_TYPES = frozenset({"decimal", "integer", "positiveInt", "unsignedInt", "integer64"})
DATE_TYPES = frozenset({"date", "dateTime", "instant"})
_DATE_LENGTHS = {4: 4, 6: 7, 8: 10, 10: 13, 12: 16, 14: 19, 17: 23}  # digits -> text length
_TIME_LENGTHS = {2: 2, 4: 5, 6: 8, 9: 12}
MAX_DECIMAL_DIGITS = 8  # the edge times 10^digits stays within DECIMAL(38, 18)


def boundary_type(types: frozenset[str]) -> str:
    """The one type whose boundaries a collection of ``types`` has (numbers count as one)."""
    if types and types <= NUMBER_TYPES:
        return "decimal"
    if len(types) == 1 and next(iter(types)) in DATE_TYPES | {"time"}:
        return next(iter(types))
    shown = ", ".join(sorted(types)) or "untyped"
    raise NotCompilable(f"boundaries of {shown} values are not compiled to SQL")


def result_type(type_name: str, digits: int | None) -> str:
    """The FHIR type of the boundary of a ``type_name`` value (a date may become a dateTime)."""
    if type_name in NUMBER_TYPES:
        return "decimal"
    if type_name == "time":
        return "time"
    if type_name == "date" and (digits is None or digits <= 8):
        return "date"
    return "dateTime"


def boundary_sql(text: str, type_name: str, digits: int | None, *, high: bool) -> str:
    """SQL giving the boundary of the value whose text is the SQL expression ``text``.

    Decimals give a DOUBLE; dates, dateTimes and times their text. A precision the value
    type does not have gives NULL (FHIRPath's empty), as in the Python engine.
    """
    if type_name in NUMBER_TYPES:
        found = _decimal(text, 8 if digits is None else digits, high=high)
    elif type_name in DATE_TYPES:
        default = 8 if type_name == "date" else 17
        length = _DATE_LENGTHS.get(default if digits is None else digits)
        found = "CAST(NULL AS VARCHAR)" if length is None else _date(text, length, high=high)
    elif type_name == "time":
        length = _TIME_LENGTHS.get(9 if digits is None else digits)
        found = "CAST(NULL AS VARCHAR)" if length is None else _time(text, length, high=high)
    else:
        raise NotCompilable(f"boundaries of {type_name} values are not compiled to SQL")
    return f"(CASE WHEN {text} IS NULL THEN NULL ELSE {found} END)"  # concat() skips NULLs


def _decimal(text: str, digits: int, *, high: bool) -> str:
    if not 0 <= digits <= MAX_DECIMAL_DIGITS:
        raise NotCompilable(f"a boundary precision of {digits} digits is not compiled to SQL")
    t = f"lower(CAST({text} AS VARCHAR))"
    has_e = f"(strpos({t}, 'e') > 0)"
    mantissa = f"(CASE WHEN {has_e} THEN substring({t}, 1, strpos({t}, 'e') - 1) ELSE {t} END)"
    exponent = (
        f"(CASE WHEN {has_e} THEN CAST(replace(substring({t}, strpos({t}, 'e') + 1), '+', '') "
        "AS INT) ELSE 0 END)"
    )
    fraction = (
        f"(CASE WHEN strpos({mantissa}, '.') > 0 "
        f"THEN length({mantissa}) - strpos({mantissa}, '.') ELSE 0 END)"
    )
    scale = f"least(greatest({fraction} - {exponent}, 0), 17)"
    half = f"CAST(concat('0.', repeat('0', {scale}), '5') AS DECIMAL(38, 18))"
    edge = f"(CAST({t} AS DECIMAL(38, 18)) {'+' if high else '-'} {half})"
    rounded = f"{'ceil' if high else 'floor'}({edge} * {10**digits})"
    # the digits with the exponent as text: one correctly rounded conversion to DOUBLE
    return (
        f"CAST(concat(CAST(CAST({rounded} AS DECIMAL(38, 0)) AS VARCHAR), 'e-{digits}') AS DOUBLE)"
    )


def _days_in_month(body: str) -> str:
    year = f"CAST(substring({body}, 1, 4) AS INT)"
    month = f"CAST(CASE WHEN length({body}) >= 7 THEN substring({body}, 6, 2) ELSE '12' END AS INT)"
    leap = f"(({year} % 4 = 0 AND {year} % 100 <> 0) OR {year} % 400 = 0)"
    return (
        f"(CASE WHEN {month} IN (4, 6, 9, 11) THEN '30' WHEN {month} = 2 "
        f"THEN CASE WHEN {leap} THEN '29' ELSE '28' END ELSE '31' END)"
    )


def _millis(body: str, seconds_end: int) -> str:
    """``body`` with its fraction of a second cut or padded to 3 digits (as the engine reads)."""
    start = seconds_end + 2
    return (
        f"(CASE WHEN length({body}) > {seconds_end} THEN concat(substring({body}, 1, "
        f"{seconds_end}), '.', rpad(substring({body}, {start}, 3), 3, '0')) ELSE {body} END)"
    )


def _date(text: str, length: int, *, high: bool) -> str:
    s = f"CAST({text} AS VARCHAR)"
    tz = (
        f"(CASE WHEN length({s}) > 10 AND substring({s}, length({s}), 1) = 'Z' THEN 'Z' "
        f"WHEN length({s}) > 10 AND substring({s}, length({s}) - 5, 1) IN ('+', '-') "
        f"THEN substring({s}, length({s}) - 5, 6) ELSE '' END)"
    )
    body = _millis(f"substring({s}, 1, length({s}) - length({tz}))", 19)
    if high:
        fill = f"concat('0000-12-', {_days_in_month(body)}, 'T23:59:59.999')"
    else:
        fill = "'0000-01-01T00:00:00.000'"
    filled = f"substring(concat({body}, substring({fill}, length({body}) + 1)), 1, {length})"
    if length < 13:
        return filled
    default = "-12:00" if high else "+14:00"
    offset = (
        f"(CASE WHEN {tz} IN ('+00:00', '-00:00') THEN 'Z' WHEN {tz} = '' THEN '{default}' "
        f"ELSE {tz} END)"
    )
    return f"concat({filled}, {offset})"


def _time(text: str, length: int, *, high: bool) -> str:
    body = _millis(f"CAST({text} AS VARCHAR)", 8)
    fill = "'23:59:59.999'" if high else "'00:00:00.000'"
    return f"substring(concat({body}, substring({fill}, length({body}) + 1)), 1, {length})"


def boundary_digits(value: object, arguments: tuple[nodes.Expression, ...]) -> int | None:
    """The literal precision argument of a boundary function (None when absent)."""
    if not arguments:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotCompilable("a boundary precision must be an integer literal")
    return value


def boundary_tree(
    type_name: str, digits: int | None, text: exp.Expression, *, high: bool
) -> exp.Expression:
    """:func:`boundary_sql` as a sqlglot tree over the JSON text ``text`` of an item."""
    tree = sqlglot.parse_one(boundary_sql("boundary_input", type_name, digits, high=high))

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name == "boundary_input":
            return text.copy()
        return node

    return tree.transform(swap)
