"""The SQL of an indicator's facts and aggregates (DuckDB), built from its definition.

Statements and SELECTs over the tables of :mod:`yteso.warehouse.indicators.engine`
(``ind_facts``, the view tables) and the temp tables of touched keys, periods and
``affected_people`` that :mod:`yteso.warehouse.indicators.recompute` runs them with.
"""

from __future__ import annotations

from yteso.warehouse.indicators.definitions import Indicator, ViewUse
from yteso.warehouse.indicators.filters import (
    as_date,
    compile_filters,
    literal,
    sql_name,
    view_table,
)
from yteso.warehouse.indicators.periods import age_group, period_end, period_label, period_start

KEYS = ("province", "ward", "facility", "sex", "age_group")  # the finest disaggregation


def periods_of_facts(ind: Indicator, restrict: str) -> str:
    """SELECT (pt, period, start, finish) of the facts of ``ind`` whose key is in a table."""
    selects = [
        f"SELECT DISTINCT '{pt}' AS pt, {period_label(pt, 'anchor')} AS period, "
        f"{period_start(pt, 'anchor')} AS start, {period_end(pt, 'anchor')} AS finish "
        f"FROM ind_facts WHERE indicator = {literal(ind.id, 'id')} "
        f"AND key IN (SELECT key FROM {restrict})"
        for pt in ind.periods
    ]
    return " UNION ".join(selects)


def in_affected(alias: str, sex: str = "sex") -> str:
    """The row's group is one of the changed patients' (NULL-safe)."""
    same = " AND ".join(
        f"x.{k} IS NOT DISTINCT FROM {alias}.{k}" for k in ("province", "ward", "facility")
    )
    return (
        f"EXISTS (SELECT 1 FROM affected_people x WHERE {same} "
        f"AND x.sex IS NOT DISTINCT FROM {alias}.{sex})"
    )


def all_periods(ind: Indicator) -> str:
    """Every period between the first and the last unit date (zero-case weeks included)."""
    days = (
        "SELECT CAST(unnest(range(CAST(min(anchor) AS TIMESTAMP), "
        "CAST(max(anchor) AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY)) AS DATE) AS anchor "
        f"FROM ind_facts WHERE indicator = {literal(ind.id, 'id')}"
    )
    selects = [
        f"SELECT DISTINCT '{pt}' AS pt, {period_label(pt, 'anchor')} AS period, "
        f"{period_start(pt, 'anchor')} AS start, {period_end(pt, 'anchor')} AS finish "
        f"FROM ({days}) WHERE anchor IS NOT NULL"
        for pt in ind.periods
    ]
    return " UNION ".join(selects)


def facts_sql(ind: Indicator, patient: ViewUse, touched: str) -> str:
    """The ``ind_facts`` rows of the units whose key is in ``touched``, with their patient's
    disaggregation keys and whether each is in the numerator."""
    unit = view_table(ind.unit)
    months = ind.date_offset_months
    anchor = f"CAST({as_date('u.' + sql_name(ind.date))} + INTERVAL ({months}) MONTH AS DATE)"
    where = compile_filters(ind.where, ind.unit.columns, "u", "unit.where", anchor="u.anchor")
    facility = f"u.{sql_name(ind.facility)}" if ind.facility else "NULL"
    own = "FALSE"
    numerator = ind.numerator
    if numerator and numerator.view is None:
        own = compile_filters(numerator.where, ind.unit.columns, "u", "numerator.where")
    in_numerator = "bool_or(coalesce(own, FALSE))"
    if numerator and numerator.view and numerator.match:
        condition = compile_filters(
            numerator.where, numerator.view.columns, "n", "numerator.where", "units.anchor"
        )
        in_numerator = (
            f"EXISTS (SELECT 1 FROM {view_table(numerator.view)} n WHERE "
            f"n.{sql_name(numerator.match)} = units.key AND {condition})"
        )
        own_column = "FALSE AS own"
    else:
        own_column = f"({own}) AS own"
    patient_table = view_table(patient)
    birth = as_date("p.birth_date")
    ages = age_group(ind.age_groups, birth, "units.anchor")
    grouped = (
        f"SELECT key, arg_min(subject, anchor) AS subject, min(anchor) AS anchor, "
        f"arg_min(facility, anchor) AS facility, bool_or(coalesce(own, FALSE)) AS own "
        f"FROM (SELECT u.{sql_name(ind.key)} AS key, u.{sql_name(ind.subject)} AS subject, "
        f"u.anchor, {facility} AS facility, {own_column} FROM (SELECT *, {anchor} AS anchor "
        f"FROM {unit} u) u WHERE u.anchor IS NOT NULL AND u.{sql_name(ind.key)} IN "
        f"(SELECT key FROM {touched}) AND {where}) GROUP BY key"
    )
    flag = in_numerator if numerator and numerator.view else "units.own"
    facility_key = "units.facility" if ind.facility else "p.facility"
    return (
        f"SELECT {literal(ind.id, 'id')}, units.key, units.subject, units.anchor, "
        f"p.province, p.ward, {facility_key}, p.gender, {ages}, "
        f"CASE WHEN {flag} THEN 1 ELSE 0 END FROM ({grouped}) units "
        f"LEFT JOIN {patient_table} p ON p.id = units.subject"
    )


def proportion_sql(ind: Indicator, tp: str) -> str:
    """The ``ind_aggregates`` rows of a proportion for the periods listed in ``tp``."""
    keys = ", ".join(KEYS)
    selects = [
        f"SELECT '{pt}' AS pt, {period_label(pt, 'anchor')} AS period, "
        f"{period_start(pt, 'anchor')} AS start, {keys}, num FROM ind_facts "
        f"WHERE indicator = {literal(ind.id, 'id')}"
        for pt in ind.periods
    ]
    return (
        f"SELECT {literal(ind.id, 'id')}, pt, period, start, {keys}, sum(num), count(*) "
        f"FROM ({' UNION ALL '.join(selects)}) f WHERE EXISTS (SELECT 1 FROM {tp} t "
        f"WHERE t.pt = f.pt AND t.period = f.period) GROUP BY pt, period, start, {keys}"
    )


def rate_sql(ind: Indicator, patient: ViewUse, tp: str, *, affected: bool = False) -> str:
    """The ``ind_aggregates`` rows of a rate for the periods in ``tp``: cases over the
    population alive in each period (``affected``: only the changed patients' groups)."""
    keys = ", ".join(KEYS)
    cases = (
        f"SELECT pt, period, start, {keys}, sum(num) AS n FROM ("
        + " UNION ALL ".join(
            f"SELECT '{pt}' AS pt, {period_label(pt, 'anchor')} AS period, "
            f"{period_start(pt, 'anchor')} AS start, {keys}, 1 AS num FROM ind_facts "
            f"WHERE indicator = {literal(ind.id, 'id')}"
            for pt in ind.periods
        )
        + f") f WHERE EXISTS (SELECT 1 FROM {tp} t WHERE t.pt = f.pt AND t.period = f.period)"
        f" AND {in_affected('f') if affected else 'TRUE'}"
        f" GROUP BY pt, period, start, {keys}"
    )
    birth = as_date("p.birth_date")
    where = compile_filters(ind.population_where, patient.columns, "p", "population")
    population = (
        f"SELECT t.pt, t.period, t.start, p.province, p.ward, p.facility, p.gender AS sex, "
        f"{age_group(ind.age_groups, birth, 't.finish')} AS age_group, count(*) AS n "
        f"FROM {tp} t JOIN {view_table(patient)} p ON {birth} <= t.finish "
        f"AND (p.deceased IS NULL OR {as_date('p.deceased')} >= t.start) WHERE {where} "
        f"AND {in_affected('p', 'gender') if affected else 'TRUE'} "
        "GROUP BY ALL"
    )
    same = " AND ".join(
        ["c.pt = q.pt", "c.period = q.period"] + [f"c.{k} IS NOT DISTINCT FROM q.{k}" for k in KEYS]
    )
    picked = ", ".join(f"coalesce(c.{k}, q.{k})" for k in ("pt", "period", "start", *KEYS))
    return (
        f"SELECT {literal(ind.id, 'id')}, {picked}, coalesce(c.n, 0), coalesce(q.n, 0) "
        f"FROM ({cases}) c FULL OUTER JOIN ({population}) q ON {same}"
    )
