"""``yteso indicators run|show|list`` and ``yteso quality show``.

``run`` brings the warehouse state (a DuckDB file, default
``$YTESO_HOME/warehouse/indicators.duckdb``) up to date with the store (``--db``) or with NDJSON
files (``--source``: a Bulk Data export, ``yteso synth`` output); ``show`` prints the rows.
The server reads the same file: run these while it is stopped, or use ``POST
/api/indicators/$run`` while it runs (DuckDB allows one writing process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

indicators_app = typer.Typer(help="Indicators (coverage, treatment, rates).", no_args_is_help=True)
quality_app = typer.Typer(help="Data-quality scores by facility and period.", no_args_is_help=True)

StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state", help="Warehouse file (default $YTESO_HOME/warehouse/indicators.duckdb)."
    ),
]
PeriodOption = Annotated[str, typer.Option(help="week, month, quarter or year.")]
ByOption = Annotated[
    str, typer.Option(help="Comma-separated: province, ward, facility, sex, age_group.")
]
FromOption = Annotated[str | None, typer.Option("--from", help="First period start (YYYY-MM-DD).")]
ToOption = Annotated[str | None, typer.Option("--to", help="Last period start (YYYY-MM-DD).")]


def _state(state: Path | None) -> Path:
    from yteso.app import yteso_home

    path = state or yteso_home() / "warehouse" / "indicators.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _existing(state: Path | None) -> Path:
    path = _state(state)
    if not path.exists():
        typer.echo(
            f"error: no indicators computed yet in {path}: run yteso indicators run", err=True
        )
        raise typer.Exit(code=1)
    return path


def _fail(error: Exception) -> None:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(code=1)


@indicators_app.command("run")
def run(
    db: Annotated[
        str | None, typer.Option("--db", help="The store (default $YTESO_HOME/yteso.db).")
    ] = None,
    source: Annotated[
        Path | None, typer.Option(help="NDJSON file or folder instead of the store.")
    ] = None,
    state: StateOption = None,
    full: Annotated[bool, typer.Option("--full", help="Forget the state, recompute all.")] = False,
) -> None:
    """Recompute what changed since the last run (every indicator and check)."""
    from yteso.app import default_database_url
    from yteso.fhir.errors import FhirError
    from yteso.store import open_store
    from yteso.warehouse.indicators import IndicatorWarehouse
    from yteso.web.indicators import StoreFeed

    warehouse = IndicatorWarehouse(_state(state))
    store = None
    try:
        if source is not None:
            report = warehouse.run(source, full=full)
        else:
            store = open_store(db or default_database_url())
            report = warehouse.run(StoreFeed(store), full=full)
    except FhirError as error:
        _fail(error)
    finally:
        warehouse.close()
        if store is not None:
            store.close()
    typer.echo(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode())


@indicators_app.command("list")
def list_indicators(state: StateOption = None) -> None:
    """The indicators and checks, one per line."""
    from yteso.warehouse.indicators import shipped_indicators
    from yteso.warehouse.quality import shipped_checks

    for ind in shipped_indicators().values():
        typer.echo(f"{ind.id}\t{ind.kind}\t{ind.title}")
    for check in shipped_checks().values():
        typer.echo(f"{check.id}\tcheck:{check.dimension}\t{check.title}")


@indicators_app.command("show")
def show(
    ident: Annotated[str, typer.Argument(help="Indicator id (see yteso indicators list).")],
    period: PeriodOption = "month",
    by: ByOption = "",
    start: FromOption = None,
    end: ToOption = None,
    state: StateOption = None,
    measure_report: Annotated[
        bool, typer.Option("--measure-report", help="Print a FHIR MeasureReport.")
    ] = False,
) -> None:
    """The indicator's rows (NDJSON), or a MeasureReport."""
    from yteso.fhir.errors import FhirError
    from yteso.warehouse.indicators import IndicatorWarehouse, query_indicator
    from yteso.warehouse.indicators import measure_report as report_of

    keys = [k.strip() for k in by.split(",") if k.strip()]
    warehouse = IndicatorWarehouse(_existing(state), read_only=True)
    try:
        rows = query_indicator(warehouse, ident, period=period, by=keys, start=start, end=end)
        if measure_report:
            report = report_of(warehouse.indicators[ident], rows, keys, start, end)
            typer.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
            return
    except FhirError as error:
        _fail(error)
    finally:
        warehouse.close()
    for row in rows:
        typer.echo(orjson.dumps(row).decode())


@quality_app.command("show")
def quality_show(
    period: Annotated[str, typer.Option(help="week, month, quarter, year or all.")] = "all",
    by: Annotated[str, typer.Option(help="facility, or empty for the whole country.")] = "",
    check: Annotated[str | None, typer.Option(help="One check id.")] = None,
    dimension: Annotated[str | None, typer.Option(help="One dimension.")] = None,
    start: FromOption = None,
    end: ToOption = None,
    state: StateOption = None,
) -> None:
    """Quality scores (NDJSON rows: check, dimension, period, facility, passed, total, score)."""
    from yteso.fhir.errors import FhirError
    from yteso.warehouse.indicators import IndicatorWarehouse, query_quality

    keys = [k.strip() for k in by.split(",") if k.strip()]
    warehouse = IndicatorWarehouse(_existing(state), read_only=True)
    try:
        rows = query_quality(
            warehouse,
            period=None if period == "all" else period,
            by=keys,
            check=check,
            dimension=dimension,
            start=start,
            end=end,
        )
    except FhirError as error:
        _fail(error)
    finally:
        warehouse.close()
    for row in rows:
        typer.echo(orjson.dumps(row).decode())


__all__ = ["indicators_app", "quality_app"]
