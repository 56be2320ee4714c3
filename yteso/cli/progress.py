"""Rich progress bars around the long-running commands (load, synth)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from yteso.store import LoadReport, load_paths
from yteso.store.base import Store

console = Console(stderr=True)


def _progress(auto_refresh: bool = True) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        auto_refresh=auto_refresh,
    )


def load_with_progress(store: Store, paths: Sequence[Path]) -> LoadReport:
    # Redrawn at each batch rather than by rich's refresh thread: with no other thread in the
    # process, the loader forks its workers instead of spawning them (bulk_load._worker_context).
    with _progress(auto_refresh=False) as bar:
        task = bar.add_task("Loading", total=None)

        def on_progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total, refresh=True)

        report = load_paths(store, [Path(p) for p in paths], progress=on_progress)
    console.print(report.summary())
    for failure in report.failures[:20]:
        console.print(f"[red]{failure}[/red]")
    return report


def synth_with_progress(people: int, seed: int, out: Path, duplicates: float) -> None:
    from yteso.synth import generate

    with _progress() as bar:
        task = bar.add_task("People", total=people)

        def on_progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        report = generate(people, seed, out, duplicates=duplicates, progress=on_progress)
    console.print(str(report))
