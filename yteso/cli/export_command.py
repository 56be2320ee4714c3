"""``yteso export``: the Bulk Data export, from the command line.

https://hl7.org/fhir/uv/bulkdata/export.html — the same selections as ``$export`` (system,
``--patient`` for ``Patient/$export``, ``--group ID`` for ``Group/[id]/$export``; ``--type``,
``--since``, ``--type-filter`` as ``_type``, ``_since``, ``_typeFilter``) and the same NDJSON
files (``<Type>.ndjson``, stored bytes line by line), written by the same streaming code
(:mod:`yteso.store.ndjson_export`), without a server or a token: the operator holds the
database itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from yteso.store.ndjson_export import ExportPlan
    from yteso.store.sql_store import SqlStore

TypeOption = Annotated[
    str | None, typer.Option("--type", help="Resource types, comma-separated (default: all).")
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="Only resources changed after this FHIR instant.")
]
TypeFilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--type-filter",
        help="Type?search (as _typeFilter; repeatable, several on one type are ORed).",
    ),
]
PatientOption = Annotated[
    bool,
    typer.Option("--patient", help="Only resources in patient compartments (Patient/$export)."),
]
GroupOption = Annotated[
    str | None,
    typer.Option("--group", help="Only the compartments of this Group's patient members."),
]
OutOption = Annotated[Path, typer.Option("--out", help="Folder for the NDJSON files.")]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="sqlite:///PATH (default $YTESO_HOME/yteso.db) or postgresql://..."),
]


def export(
    out: OutOption,
    type: TypeOption = None,
    since: SinceOption = None,
    type_filter: TypeFilterOption = None,
    patient: PatientOption = False,
    group: GroupOption = None,
    db: DbOption = None,
) -> None:
    """Write the current resources $export would select as NDJSON, one file per type."""
    from yteso.app import default_database_url
    from yteso.store import open_store
    from yteso.store.ndjson_export import planned_versions, write_ndjson

    if patient and group is not None:
        raise typer.BadParameter("give --patient or --group, not both", param_hint="--patient")
    store = open_store(db or default_database_url())
    started = time.perf_counter()
    try:
        plan = _plan(store, type, since, type_filter or [], patient, group)
        counts = write_ndjson(planned_versions(store, plan), out)
    finally:
        store.close()
    seconds = time.perf_counter() - started
    for resource_type, count in sorted(counts.items()):
        typer.echo(f"{resource_type}\t{count}\t{out / (resource_type + '.ndjson')}")
    total = sum(counts.values())
    typer.echo(f"{total} resources in {seconds:.1f} s ({total / max(seconds, 1e-9):,.0f}/s)")


def _plan(
    store: SqlStore,
    type: str | None,
    since: str | None,
    type_filters: list[str],
    patient: bool,
    group: str | None,
) -> ExportPlan:
    """The plan $export builds from the same parameters; bad ones are usage errors (exit 2)."""
    from yteso.api.operations.bulk_export import parse_type_filters
    from yteso.fhir.definitions import resource_types
    from yteso.fhir.errors import FhirError
    from yteso.store.instants import parse_instant
    from yteso.store.ndjson_export import ExportPlan, group_patients

    known = resource_types()
    types = tuple(dict.fromkeys(t.strip() for t in (type or "").split(",") if t.strip())) or None
    unknown = sorted(set(types or ()) - known)
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
    try:
        filters = parse_type_filters(type_filters, known, store.supported_search_params, types)
    except FhirError as error:
        raise typer.BadParameter(str(error), param_hint="--type-filter") from error
    members = None
    if group is not None:
        try:
            stored = store.read("Group", group)
        except FhirError as error:
            raise typer.BadParameter(f"Group/{group}: {error}", param_hint="--group") from error
        if stored.deleted:
            raise typer.BadParameter(f"Group/{group} is deleted", param_hint="--group")
        members = group_patients(stored.resource())
    return ExportPlan(types, moment, filters, patient_level=patient, patients=members)


__all__ = ["export"]
