"""``yteso export``: the Bulk Data export of the whole store, from the command line.

https://hl7.org/fhir/uv/bulkdata/export.html#file-format — the same NDJSON files
(``<Type>.ndjson``, stored bytes line by line) as the system-level ``$export``, written by the
same streaming code (:mod:`yteso.store.ndjson_export`), without a server or a token: the
operator holds the database itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

TypeOption = Annotated[
    str | None, typer.Option("--type", help="Resource types, comma-separated (default: all).")
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="Only resources changed after this FHIR instant.")
]
OutOption = Annotated[Path, typer.Option("--out", help="Folder for the NDJSON files.")]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="sqlite:///PATH (default $YTESO_HOME/yteso.db) or postgresql://..."),
]


def export(
    out: OutOption, type: TypeOption = None, since: SinceOption = None, db: DbOption = None
) -> None:
    """Write every current resource (or those of --type, changed after --since) as NDJSON."""
    from yteso.app import default_database_url
    from yteso.fhir.definitions import resource_types
    from yteso.store import open_store
    from yteso.store.instants import parse_instant
    from yteso.store.ndjson_export import ExportPlan, planned_versions, write_ndjson

    types = tuple(t.strip() for t in (type or "").split(",") if t.strip()) or None
    unknown = sorted(set(types or ()) - resource_types())
    if unknown:
        raise typer.BadParameter(
            f"unknown resource type(s): {', '.join(unknown)}", param_hint="--type"
        )
    try:
        moment = parse_instant(since) if since is not None else None
    except ValueError as error:
        raise typer.BadParameter(
            f"{since!r} is not a FHIR instant", param_hint="--since"
        ) from error
    store = open_store(db or default_database_url())
    started = time.perf_counter()
    try:
        counts = write_ndjson(planned_versions(store, ExportPlan(types, moment)), out)
    finally:
        store.close()
    seconds = time.perf_counter() - started
    for resource_type, count in sorted(counts.items()):
        typer.echo(f"{resource_type}\t{count}\t{out / (resource_type + '.ndjson')}")
    total = sum(counts.values())
    typer.echo(f"{total} resources in {seconds:.1f} s ({total / max(seconds, 1e-9):,.0f}/s)")


__all__ = ["export"]
