"""Read indicators and quality scores back: stored aggregates rolled up to the asked grouping.

Rows are plain JSON (period, the asked disaggregation keys, numerator, denominator, value); a
proportion's value is numerator / denominator x factor (None when the denominator is 0), a
rate's the same with the population as denominator. :func:`measure_report` turns rows into a
FHIR ``MeasureReport`` (summary, one stratifier per disaggregation).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.warehouse.indicators.aggregate_sql import KEYS
from yteso.warehouse.indicators.definitions import PERIODS, Indicator, indicator
from yteso.warehouse.indicators.engine import IndicatorWarehouse
from yteso.warehouse.indicators.periods import PERIOD_UNITS

MEASURE_BASE = "https://yteso.vn/fhir/Measure/"


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise Invalid(f"{name}: expected a date (YYYY-MM-DD), got {value!r}") from error


def _by(by: Sequence[str], allowed: Sequence[str]) -> list[str]:
    unknown = [k for k in by if k not in allowed]
    if unknown:
        raise Invalid(f"by: unknown disaggregation {unknown[0]!r} (one of {', '.join(allowed)})")
    return list(dict.fromkeys(by))


def _range(start: str | None, end: str | None, column: str) -> tuple[str, list[Any]]:
    clauses, params = [], []
    first, last = _day(start, "from"), _day(end, "to")
    if first is not None:
        clauses.append(f"{column} >= ?")
        params.append(first)
    if last is not None:
        clauses.append(f"{column} <= ?")
        params.append(last)
    return " AND ".join(clauses) or "TRUE", params


def query_indicator(
    warehouse: IndicatorWarehouse,
    ident: str,
    *,
    period: str = "month",
    by: Sequence[str] = (),
    start: str | None = None,
    end: str | None = None,
    where: dict[str, str] | None = None,
) -> list[Json]:
    """Rows of one indicator by ``period`` and the ``by`` keys, periods starting in
    [``start``, ``end``]; ``where`` keeps one value of some keys (e.g. ``{"province": ...}``)."""
    ind: Indicator = indicator(ident, warehouse.indicators)
    if period not in ind.periods:
        raise Invalid(f"period: {ident} is computed by {', '.join(ind.periods)}, not {period!r}")
    keys = _by(by, KEYS)
    dates, params = _range(start, end, "period_start")
    filters = []
    for key, value in (where or {}).items():
        _by([key], KEYS)
        filters.append(f"{key} = ?")
        params.append(value)
    selected = "".join(f", {k}" for k in keys)
    last_day = f"CAST(period_start + INTERVAL 1 {PERIOD_UNITS[period]} - INTERVAL 1 DAY AS DATE)"
    sql = (
        f"SELECT period, period_start, {last_day}{selected}, sum(numerator), sum(denominator) "
        "FROM ind_aggregates WHERE indicator = ? AND period_type = ? AND "
        f"{dates} {''.join(' AND ' + f for f in filters)} "
        f"GROUP BY period, period_start{selected} ORDER BY period_start{selected}"
    )
    records = warehouse.con.execute(sql, [ident, period, *params]).fetchall()
    out = []
    for record in records:
        numerator, denominator = int(record[-2]), int(record[-1])
        row: Json = {
            "period": record[0],
            "period_start": record[1].isoformat(),
            "period_end": record[2].isoformat(),
        }
        row.update(zip(keys, record[3:-2], strict=True))
        ratio = numerator / denominator * ind.factor if denominator else None
        row.update(
            numerator=numerator,
            denominator=denominator,
            value=None if ratio is None else round(ratio, 4),
        )
        out.append(row)
    return out


def query_quality(
    warehouse: IndicatorWarehouse,
    *,
    period: str | None = "month",
    by: Sequence[str] = ("facility",),
    check: str | None = None,
    dimension: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> list[Json]:
    """Quality scores (passed / tested x 100) per check, by period and facility."""
    if period is not None and period not in PERIODS:
        raise Invalid(f"period: one of {', '.join(PERIODS)}")
    keys = _by(by, ("facility",))
    if check is not None and check not in warehouse.checks:
        raise Invalid(f"check: unknown check {check!r}")
    dates, params = _range(start, end, "day")
    filters = [dates]
    if check is not None:
        filters.append("check_id = ?")
        params.append(check)
    if dimension is not None:
        filters.append("dimension = ?")
        params.append(dimension)
    groups = ["check_id", "dimension"]
    if period is not None:
        groups.append(f"CAST(date_trunc('{period}', day) AS DATE)")
    groups.extend(keys)
    listed = ", ".join(groups)
    sql = (
        f"SELECT {listed}, count(*) FILTER (WHERE passed), count(*) FROM quality_results "
        f"WHERE {' AND '.join(filters)} GROUP BY {listed} ORDER BY {listed} NULLS FIRST"
    )
    out = []
    names = ["check", "dimension", *(["period_start"] if period else []), *keys]
    for record in warehouse.con.execute(sql, params).fetchall():
        row: Json = dict(zip(names, record[:-2], strict=True))
        if period is not None:
            row["period_start"] = row["period_start"] and row["period_start"].isoformat()
        passed, total = int(record[-2]), int(record[-1])
        row.update(passed=passed, total=total, score=round(100 * passed / total, 2))
        out.append(row)
    return out


def measure_report(
    ind: Indicator,
    rows: list[Json],
    by: Sequence[str],
    start: str | None = None,
    end: str | None = None,
) -> Json:
    """A summary ``MeasureReport``: totals over the rows, a stratum per period and keys. Its
    period spans the rows' periods (else ``start``..``end``, else today)."""
    numerator = sum(r["numerator"] for r in rows)
    denominator = sum(r["denominator"] for r in rows)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date().isoformat()
    first = min((r["period_start"] for r in rows), default=start or end or today)
    last = max((r["period_end"] for r in rows), default=end or start or today)

    def populations(n: int, d: int) -> list[Json]:
        return [
            {"code": {"coding": [{"code": "numerator"}]}, "count": n},
            {"code": {"coding": [{"code": "denominator"}]}, "count": d},
        ]

    def score(n: int, d: int) -> Json:
        return {"value": round(n / d * ind.factor, 4)} if d else {}

    strata = []
    for row in rows:
        components = [{"code": {"text": "period"}, "value": {"text": row["period"]}}]
        components += [{"code": {"text": key}, "value": {"text": str(row.get(key))}} for key in by]
        stratum: Json = {
            "component": components,
            "population": populations(row["numerator"], row["denominator"]),
        }
        if row["denominator"]:
            stratum["measureScore"] = score(row["numerator"], row["denominator"])
        strata.append(stratum)
    group: Json = {
        "population": populations(numerator, denominator),
        "stratifier": [
            {"code": [{"text": "period"}, *({"text": k} for k in by)], "stratum": strata}
        ],
    }
    if denominator:
        group["measureScore"] = score(numerator, denominator)
    report: Json = {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": MEASURE_BASE + ind.id,
        "date": now.isoformat(),
        "period": {"start": first, "end": last},
        "group": [group],
    }
    return report
