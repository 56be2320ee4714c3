"""``yteso``: serve the platform, load data, make a synthetic population.

Commands follow the contracts in DESIGN.md (``serve``, ``load``, ``synth``).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer

from yteso import __version__
from yteso.cli.export_command import export
from yteso.cli.indicator_commands import indicators_app, quality_app
from yteso.cli.mpi_commands import AutoLinkOption, ReviewOption, checked_thresholds, mpi_app
from yteso.cli.security_commands import audit_app, auth_app

app = typer.Typer(
    name="yteso",
    help="Yteso — y tế số: an HL7 FHIR R4 national digital health platform.",
    no_args_is_help=True,
    add_completion=False,
)

app.add_typer(auth_app, name="auth")
app.add_typer(audit_app, name="audit")
app.add_typer(mpi_app, name="mpi")
app.command(name="export")(export)
app.add_typer(indicators_app, name="indicators")
app.add_typer(quality_app, name="quality")

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="sqlite:///PATH (default sqlite:///$YTESO_HOME/yteso.db) or postgresql://user@host:port/db",
    ),
]


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    demo: Annotated[
        bool, typer.Option("--demo", help="Fill an empty database with demo data first.")
    ] = False,
    demo_people: Annotated[int, typer.Option(help="People in the demo population.")] = 2000,
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth",
            help="Serve /fhir without authentication (SQLite on a loopback host only).",
        ),
    ] = False,
    syslog: Annotated[
        str | None,
        typer.Option("--syslog", help="HOST:PORT: send security events as RFC 5424 (UDP)."),
    ] = None,
    mpi_auto_link: AutoLinkOption = None,
    mpi_review: ReviewOption = None,
) -> None:
    """Start the FHIR server and web pages on http://HOST:PORT (FHIR base /fhir)."""
    import uvicorn

    from yteso.app import create_app, default_database_url, install_mpi, open_security
    from yteso.cli.demo import fill_demo_if_empty
    from yteso.store import open_store
    from yteso.store.custom_params import load_custom_parameters

    url = db or default_database_url()
    if insecure_no_auth and (not url.startswith("sqlite:") or host not in LOOPBACK_HOSTS):
        raise typer.BadParameter(
            "--insecure-no-auth needs a sqlite:// database and a loopback host"
        )
    thresholds = checked_thresholds(mpi_auto_link, mpi_review)
    store = open_store(url)
    load_custom_parameters(store)  # custom SearchParameters, indexed by ``yteso reindex``
    # before the demo data, so its Patients get match records
    mpi = install_mpi(store, thresholds=thresholds)
    if demo:
        fill_demo_if_empty(store, people=demo_people)
    syslog_target = None
    if syslog:
        syslog_host, _, syslog_port = syslog.rpartition(":")
        if not syslog_host or not syslog_port.isdigit():
            raise typer.BadParameter("--syslog takes HOST:PORT")
        syslog_target = (syslog_host, int(syslog_port))
    security = open_security(syslog=syslog_target, store=store)
    typer.echo(f"Yteso {__version__} on {store.dialect}; FHIR base http://{host}:{port}/fhir")
    if insecure_no_auth:
        typer.echo("WARNING: /fhir is served WITHOUT authentication (--insecure-no-auth)")
    elif demo:
        demo_token = security.tokens.issue("demo-operator", "system/*.cruds", ttl=8 * 3600)
        typer.echo(f"Demo access token (8 hours, system/*.cruds):\n{demo_token}")
    app = create_app(store, security=security, insecure_no_auth=insecure_no_auth, mpi=mpi)
    # Definitions, compiled expressions and the app live as long as the server: keep the
    # collector from re-scanning them in every full collection (writes ~5-10 % cheaper).
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


@app.command()
def load(
    paths: Annotated[list[Path], typer.Argument(help="NDJSON files, Bundle JSON files, folders.")],
    db: DbOption = None,
) -> None:
    """Bulk-load resources, validated and indexed, with a progress bar."""
    from yteso.app import default_database_url, install_mpi
    from yteso.cli.progress import load_with_progress
    from yteso.store import open_store

    store = open_store(db or default_database_url())
    install_mpi(store)  # Patients get their match records (``yteso mpi link`` links them)
    try:
        report = load_with_progress(store, paths)
    finally:
        store.close()
    if report.failed:
        raise typer.Exit(code=1)


@app.command()
def reindex(
    db: DbOption = None,
    content_index: Annotated[
        str | None,
        typer.Option(
            "--content-index",
            help="Turn the _content text index on or off for this database (then reindex).",
        ),
    ] = None,
) -> None:
    """Rebuild the search indexes of every current resource."""
    from yteso.app import default_database_url
    from yteso.store import open_store
    from yteso.store.reindex import reindex as rebuild

    if content_index not in (None, "on", "off"):
        raise typer.BadParameter("--content-index takes on or off")
    store = open_store(db or default_database_url())
    try:
        if content_index is not None:
            changed = store.set_content_index(content_index == "on")
            state = "turned" if changed else "already"
            typer.echo(f"_content text index {state} {content_index}", err=True)
        count = rebuild(store, progress=lambda done: typer.echo(f"reindexed {done:,}", err=True))
    finally:
        store.close()
    typer.echo(f"reindexed {count:,} resources")


@app.command()
def synth(
    people: Annotated[int, typer.Option("--people", help="Number of people.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 1,
    out: Annotated[Path, typer.Option(help="Output folder for the NDJSON files.")] = Path(
        "synth-out"
    ),
    duplicates: Annotated[
        float, typer.Option(help="Share of people re-registered with noise (for MPI tests).")
    ] = 0.0,
) -> None:
    """Write a synthetic Vietnamese population as FHIR R4 NDJSON."""
    from yteso.cli.progress import synth_with_progress

    synth_with_progress(people, seed, out, duplicates)


view_app = typer.Typer(help="SQL-on-FHIR v2 views (the warehouse).", no_args_is_help=True)
app.add_typer(view_app, name="view")


@view_app.command("run")
def view_run(
    view: Annotated[Path, typer.Argument(help="A ViewDefinition JSON file.")],
    source: Annotated[
        str,
        typer.Option(
            help="NDJSON file or folder, Parquet, or the store: sqlite:///PATH, postgresql://..."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output file.")],
    format: Annotated[
        str | None,
        typer.Option(help="csv, ndjson, parquet or duckdb (default: from --out's suffix)."),
    ] = None,
    engine: Annotated[str | None, typer.Option(help="duckdb, postgres, python or spark.")] = None,
) -> None:
    """Materialise a view into a CSV, NDJSON or Parquet file, or a DuckDB table."""
    from yteso.warehouse import run_view_to_file

    rows = run_view_to_file(view, source, out, format=format, engine=engine)
    typer.echo(f"{rows} rows -> {out}")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
