"""Recompute one indicator incrementally: the unit keys a run touched, their facts, and the
aggregates of the periods those facts fall in (a rate: every period of its span, and the
population of changed patients' groups in the others).
"""

from __future__ import annotations

from duckdb import DuckDBPyConnection

from yteso.warehouse.indicators.aggregate_sql import (
    all_periods,
    facts_sql,
    in_affected,
    periods_of_facts,
    proportion_sql,
    rate_sql,
)
from yteso.warehouse.indicators.definitions import PATIENT_VIEW, Indicator, ViewUse
from yteso.warehouse.indicators.filters import literal, sql_name, view_table


def touched_keys(
    con: DuckDBPyConnection,
    ind: Indicator,
    deltas: dict[str, str],
    changed: dict[str, str],
    *,
    everything: bool,
) -> None:
    """``touched_<id>``: unit keys whose facts may change, from old and new rows."""
    unit = view_table(ind.unit)
    key, subject = sql_name(ind.key), sql_name(ind.subject)
    old_units = changed[ind.unit.name]
    parts = [
        f"SELECT {key} AS key FROM {unit} WHERE id IN (SELECT id FROM {old_units})",
        f"SELECT {key} FROM {deltas[ind.unit.name]}",
        f"SELECT key FROM ind_facts WHERE indicator = {literal(ind.id, 'id')} AND subject IN "
        f"(SELECT id FROM {changed[PATIENT_VIEW]})",
        f"SELECT {key} FROM {unit} WHERE {subject} IN (SELECT id FROM {changed[PATIENT_VIEW]})",
    ]
    numerator = ind.numerator
    if numerator and numerator.view and numerator.match:
        table, match = view_table(numerator.view), sql_name(numerator.match)
        parts.append(
            f"SELECT {match} FROM {table} WHERE id IN "
            f"(SELECT id FROM {changed[numerator.view.name]})"
        )
        parts.append(f"SELECT {match} FROM {deltas[numerator.view.name]}")
    if everything:
        facts = f"SELECT key FROM ind_facts WHERE indicator = {literal(ind.id, 'id')}"
        parts = [f"SELECT {key} AS key FROM {unit}", facts]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {sql_name('touched_' + ind.id)} AS "
        f"SELECT DISTINCT key FROM ({' UNION ALL '.join(parts)}) WHERE key IS NOT NULL"
    )


def recompute(
    con: DuckDBPyConnection,
    ind: Indicator,
    patient: ViewUse,
    everything: bool,
    patients_changed: bool,
) -> tuple[int, int]:
    """Recompute the facts of the ``touched_<id>`` units, then the aggregates of the periods
    those facts fell in or fall in now: (units, periods) recomputed."""
    ident = literal(ind.id, "id")
    touched = sql_name("touched_" + ind.id)
    tp = sql_name("periods_" + ind.id)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {tp} AS {periods_of_facts(ind, touched)}")
    con.execute(
        f"DELETE FROM ind_facts WHERE indicator = {ident} AND key IN (SELECT key FROM {touched})"
    )
    con.execute(f"INSERT INTO ind_facts {facts_sql(ind, patient, touched)}")
    con.execute(f"INSERT INTO {tp} {periods_of_facts(ind, touched)}")
    if ind.kind == "rate":
        _rate_periods(con, ind, tp, everything)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {tp} AS SELECT DISTINCT * FROM {tp}")
    if everything:
        con.execute(f"DELETE FROM ind_aggregates WHERE indicator = {ident}")
    else:
        con.execute(
            f"DELETE FROM ind_aggregates a WHERE indicator = {ident} AND EXISTS (SELECT 1 "
            f"FROM {tp} t WHERE t.pt = a.period_type AND t.period = a.period)"
        )
    sql = rate_sql(ind, patient, tp) if ind.kind == "rate" else proportion_sql(ind, tp)
    con.execute(f"INSERT INTO ind_aggregates {sql}")
    if ind.kind == "rate" and patients_changed and not everything:
        _rate_population_update(con, ind, patient, tp)
    units = con.execute(f"SELECT count(*) FROM {touched}").fetchone()
    periods = con.execute(f"SELECT count(*) FROM {tp}").fetchone()
    return (int(units[0]) if units else 0, int(periods[0]) if periods else 0)


def _rate_periods(con: DuckDBPyConnection, ind: Indicator, tp: str, everything: bool) -> None:
    """A rate covers every period of its span: the touched periods, plus periods the span
    gained; rows of periods it lost are dropped."""
    ident = literal(ind.id, "id")
    span = sql_name("span_" + ind.id)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {span} AS {all_periods(ind)}")
    con.execute(
        f"DELETE FROM ind_aggregates a WHERE indicator = {ident} AND NOT EXISTS (SELECT 1 "
        f"FROM {span} s WHERE s.pt = a.period_type AND s.period = a.period)"
    )
    gained = (
        f"SELECT * FROM {span} s WHERE NOT EXISTS (SELECT 1 FROM ind_aggregates a WHERE "
        f"a.indicator = {ident} AND a.period_type = s.pt AND a.period = s.period)"
    )
    if everything:
        gained = f"SELECT * FROM {span}"
    con.execute(f"INSERT INTO {tp} {gained}")
    con.execute(
        f"DELETE FROM {tp} t WHERE NOT EXISTS (SELECT 1 FROM {span} s "
        "WHERE s.pt = t.pt AND s.period = t.period)"
    )


def _rate_population_update(
    con: DuckDBPyConnection, ind: Indicator, patient: ViewUse, tp: str
) -> None:
    """Periods not recomputed above, but only the groups (province, ward, facility, sex)
    of changed patients: their population may have changed, every period."""
    ident = literal(ind.id, "id")
    rest = sql_name("rest_" + ind.id)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {rest} AS SELECT * FROM {sql_name('span_' + ind.id)} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {tp} t WHERE t.pt = s.pt AND t.period = s.period)"
    )
    con.execute(
        f"DELETE FROM ind_aggregates a WHERE indicator = {ident} AND EXISTS (SELECT 1 FROM "
        f"{rest} t WHERE t.pt = a.period_type AND t.period = a.period) AND "
        f"{in_affected('a')}"
    )
    con.execute(f"INSERT INTO ind_aggregates {rate_sql(ind, patient, rest, affected=True)}")
