"""``yteso mpi``: the master patient index's batch commands (docs/mpi.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from yteso.cli.progress import console

if TYPE_CHECKING:
    from yteso.mpi import Thresholds

mpi_app = typer.Typer(help="Master patient index: batch linking.", no_args_is_help=True)

# ``yteso mpi link`` touches pages all over a multi-GB SQLite file (Patients of every age):
# a 3 GiB page cache and the file memory-mapped (SQLite caps the map, 2 GiB by default).
BATCH_CACHE_MIB = 3072
BATCH_MMAP_MIB = 16384

STAGES = {
    "features": "Reading patients",
    "model": "Training the model",
    "predict": "Scoring pairs",
    "cluster": "Clustering",
    "write": "Writing links",
}

# Shared by ``yteso serve`` and ``yteso mpi link``: unset, each falls back to its environment
# variable, then to the default (``yteso.app.mpi_thresholds``).
AutoLinkOption = Annotated[
    float | None,
    typer.Option(
        "--mpi-auto-link",
        "--auto-link",
        help="Auto-link a pair at this match probability "
        "(default $YTESO_MPI_AUTO_LINK, else 0.99).",
    ),
]
ReviewOption = Annotated[
    float | None,
    typer.Option(
        "--mpi-review",
        "--review",
        help="Queue a pair for review from this probability (default $YTESO_MPI_REVIEW, else 0.9).",
    ),
]


def checked_thresholds(auto_link: float | None, review: float | None) -> Thresholds:
    """The thresholds from the options and environment; a bad value is a usage error."""
    from yteso.app import mpi_thresholds

    try:
        return mpi_thresholds(auto_link, review)
    except ValueError as error:
        raise typer.BadParameter(f"MPI thresholds: {error}") from None


@mpi_app.command("link")
def link(
    db: Annotated[
        str | None,
        typer.Option("--db", help="sqlite:///PATH or postgresql://... (default: $YTESO_HOME)"),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="Where pairs are scored: duckdb (embedded) or spark.")
    ] = "duckdb",
    model: Annotated[
        Path | None,
        typer.Option(
            help="Saved model (default $YTESO_HOME/mpi-model.json; trained there when missing)."
        ),
    ] = None,
    auto_link: AutoLinkOption = None,
    review: ReviewOption = None,
    full_rebuild: Annotated[
        bool,
        typer.Option(
            "--full-rebuild",
            help="Derive every Patient's match record again (after a change of the matching "
            "rules); by default only missing or stale ones.",
        ),
    ] = False,
) -> None:
    """Link the whole population in the store: golden Persons, Patient links, review Tasks."""
    from yteso.app import default_database_url, install_mpi, mpi_model_path
    from yteso.modules.mpi import link_store
    from yteso.mpi import LinkSettings
    from yteso.store import open_store

    if backend not in ("duckdb", "spark"):
        raise typer.BadParameter("--backend is duckdb or spark")
    thresholds = checked_thresholds(auto_link, review)
    path = model or mpi_model_path()
    store = open_store(db or default_database_url())
    try:
        store.backend.use_batch_memory(BATCH_CACHE_MIB, BATCH_MMAP_MIB)
        registry = install_mpi(store, path if path.exists() else None, thresholds)
        started = time.perf_counter()
        rebuilt = store.rebuild_match_records(full=full_rebuild)
        rebuild_seconds = time.perf_counter() - started
        console.print(f"match records rebuilt for {rebuilt:,} patients")
        settings = LinkSettings(thresholds=thresholds, model_path=path, backend=backend)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            tasks: dict[str, object] = {}

            def on_progress(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
                bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

            report = link_store(store, registry, settings, on_progress)
    finally:
        store.close()
    seconds = {"rebuild": rebuild_seconds, **report.seconds}
    typer.echo(
        f"{report.records:,} patients: {report.links:,} links, {report.reviews:,} pairs for "
        f"review; seconds {', '.join(f'{k} {v:.1f}' for k, v in seconds.items())}"
    )
