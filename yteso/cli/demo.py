"""``yteso serve --demo``: fill an empty database with a synthetic Vietnamese population."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console

from yteso.cli.progress import load_with_progress, synth_with_progress
from yteso.store.base import Store

console = Console(stderr=True)


def fill_demo_if_empty(store: Store, *, people: int, seed: int = 1) -> None:
    """Generate ``people`` synthetic people and load them, unless the database has data."""
    if any(store.counts().values()):
        console.print("Database already has data; --demo leaves it as it is.")
        return
    with tempfile.TemporaryDirectory(prefix="yteso-demo-") as tmp:
        out = Path(tmp)
        console.print(f"Generating a demo population of {people} people...")
        synth_with_progress(people, seed, out, 0.0)
        report = load_with_progress(store, sorted(out.glob("*.ndjson")))
    if report.failed:
        raise RuntimeError(f"demo data failed to load: {report.summary()}")
