"""Quality results in DuckDB: one row per check and tested row, kept up to date incrementally.

Over the ``v_<view>`` tables the indicator warehouse maintains (see
:mod:`yteso.warehouse.indicators.engine`), with ``changed`` naming, per view, a table of the
ids of changed or deleted resources of the run.
"""

from __future__ import annotations

import duckdb

from yteso.warehouse.indicators.definitions import ViewUse
from yteso.warehouse.indicators.filters import (
    as_date,
    compile_filters,
    literal,
    sql_name,
    view_table,
)
from yteso.warehouse.quality.checks import Check


def update_quality(
    con: duckdb.DuckDBPyConnection,
    checks: dict[str, Check],
    patient: ViewUse,
    changed: dict[str, str],
    stale: set[str],
) -> None:
    """Results of the rows each check may judge differently now: changed rows, rows of
    changed patients (their facility), rows sharing a value with a changed row (unique),
    rows referring to a changed or deleted target (resolves). A new or changed check is
    recomputed in full."""
    known = ", ".join(literal(ident, "id") for ident in checks) or "NULL"
    con.execute(f"DELETE FROM quality_results WHERE check_id NOT IN ({known})")
    for check in checks.values():
        ident = literal(check.id, "id")
        if check.id in stale:
            con.execute(f"DELETE FROM quality_results WHERE check_id = {ident}")
            con.execute(f"INSERT INTO quality_results {check_sql(check, patient)}")
        else:
            touched = f"({_touched(check, patient, changed)})"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE quality_touched AS SELECT DISTINCT id FROM "
                f"{touched} WHERE id IS NOT NULL"
            )
            con.execute(
                f"DELETE FROM quality_results WHERE check_id = {ident} "
                "AND id IN (SELECT id FROM quality_touched)"
            )
            con.execute(
                f"INSERT INTO quality_results SELECT * FROM ({check_sql(check, patient)}) q "
                "WHERE q.id IN (SELECT id FROM quality_touched)"
            )


def unique_values(check: Check, changed: dict[str, str]) -> str:
    assert check.unique is not None
    return (
        f"SELECT DISTINCT {sql_name(check.unique)} AS v FROM {view_table(check.view)} "
        f"WHERE id IN (SELECT id FROM {changed[check.view.name]})"
    )


def _touched(check: Check, patient: ViewUse, changed: dict[str, str]) -> str:
    table = view_table(check.view)
    parts = [f"SELECT id FROM {changed[check.view.name]}"]
    if check.subject:
        parts.append(
            f"SELECT id FROM {table} WHERE {sql_name(check.subject)} IN "
            f"(SELECT id FROM {changed[patient.name]})"
        )
    if check.unique:
        parts.append(
            f"SELECT id FROM {table} WHERE {sql_name(check.unique)} IN "
            f"(SELECT v FROM {sql_name('values_' + check.id)})"
        )
    if check.resolves:
        column, target = check.resolves
        parts.append(
            f"SELECT id FROM {table} WHERE {sql_name(column)} IN "
            f"(SELECT id FROM {changed[target.name]})"
        )
    return " UNION ALL ".join(parts)


def check_sql(check: Check, patient: ViewUse) -> str:
    table = view_table(check.view)
    where = compile_filters(check.where, check.view.columns, "r", "where")
    join = ""
    facility = f"r.{sql_name(check.facility)}" if check.facility else "NULL"
    if check.subject:
        join = f"LEFT JOIN {view_table(patient)} p ON p.id = r.{sql_name(check.subject)}"
        facility = f"coalesce({facility}, p.facility)"
    if check.passes is not None:
        passed = (
            f"coalesce({compile_filters(check.passes, check.view.columns, 'r', 'pass')}, FALSE)"
        )
    elif check.unique:
        passed = f"count(*) OVER (PARTITION BY r.{sql_name(check.unique)}) = 1"
    else:
        assert check.resolves is not None
        column, target = check.resolves
        passed = f"EXISTS (SELECT 1 FROM {view_table(target)} t WHERE t.id = r.{sql_name(column)})"
    day = as_date(f"r.{sql_name(check.date)}") if check.date else "NULL"
    return (
        f"SELECT {literal(check.id, 'id')} AS check_id, "
        f"{literal(check.dimension, 'dimension')} AS dimension, r.id AS id, "
        f"{day}, {facility}, {passed} FROM {table} r {join} WHERE {where}"
    )
