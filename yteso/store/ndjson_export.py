"""Stream current resources out of a store as NDJSON files, one per resource type.

https://hl7.org/fhir/uv/bulkdata/export.html#file-format — each line is one resource. The
stored bytes are written as they are (no parse, no re-serialisation) and only one page of the
store is held at a time, so memory does not grow with the data size. Shared by the
``$export`` operation and ``yteso export``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from yteso.fhir.types import Json
from yteso.store.base import SearchQuery, Store, StoredVersion
from yteso.store.compartments import patient_compartment_key

FILTER_PAGE = 1000
Accept = Callable[[StoredVersion], bool]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExportPlan:
    """What to export: the types (None: every type), changes after ``since``, per type the
    search queries of ``_typeFilter`` (a resource is exported when any of them matches), and
    the level: ``patient_level`` keeps the resources in some patient's compartment
    (``Patient/$export``), ``patients`` those in these patients' compartments (a Group's)."""

    types: tuple[str, ...] | None = None
    since: datetime | None = None
    type_filters: Mapping[str, tuple[SearchQuery, ...]] = field(default_factory=dict)
    patient_level: bool = False
    patients: frozenset[str] | None = None


class Cancelled(Exception):
    """The export was cancelled while it ran."""


def _searched(store: Store, resource_type: str, query: SearchQuery) -> Iterator[StoredVersion]:
    cursor: str | None = None
    while True:
        page = store.search(
            resource_type, SearchQuery(query.params, count=FILTER_PAGE, cursor=cursor)
        )
        yield from page.matches
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _filtered(
    store: Store, resource_type: str, queries: tuple[SearchQuery, ...]
) -> Iterator[StoredVersion]:
    # Several filters are ORed; the ids already written keep a resource from going out twice
    # (this set grows with the matches of filtered types only).
    seen: set[str] = set()
    for query in queries:
        for stored in _searched(store, resource_type, query):
            if stored.id not in seen:
                seen.add(stored.id)
                yield stored


def group_patients(group: Json) -> frozenset[str]:
    """The ids of the Patients a Group's ``member.entity`` references."""
    members: set[str] = set()
    for member in group.get("member") or []:
        reference = (member.get("entity") or {}).get("reference", "")
        if isinstance(reference, str) and reference.startswith("Patient/"):
            members.add(reference.removeprefix("Patient/"))
    return frozenset(members)


def planned_versions(store: Store, plan: ExportPlan) -> Iterator[StoredVersion]:
    """The current, non-deleted versions ``plan`` selects, type by type."""
    versions = _selected(store, plan)
    if plan.patients is None and not plan.patient_level:
        return versions
    return _in_compartment(versions, plan.patients)


def _in_compartment(
    versions: Iterator[StoredVersion], patients: frozenset[str] | None
) -> Iterator[StoredVersion]:
    """Those in some patient's compartment (``patients``: in one of theirs)."""
    for stored in versions:
        key = patient_compartment_key(stored.resource())
        if key is not None and (patients is None or key in patients):
            yield stored


def _selected(store: Store, plan: ExportPlan) -> Iterator[StoredVersion]:
    sources: list[Iterator[StoredVersion]] = []
    if plan.types is None:
        sources.append(store.iter_current(None))
    for resource_type in plan.types or ():
        queries = plan.type_filters.get(resource_type)
        if queries:
            sources.append(_filtered(store, resource_type, queries))
        else:
            sources.append(store.iter_current(resource_type))
    for source in sources:
        for stored in source:
            if stored.deleted or (plan.since is not None and stored.last_updated <= plan.since):
                continue
            if plan.types is None and stored.resource_type in plan.type_filters:
                continue  # filtered types come from their searches below
            yield stored
    if plan.types is None:
        for resource_type, queries in sorted(plan.type_filters.items()):
            for stored in _filtered(store, resource_type, queries):
                if plan.since is None or stored.last_updated > plan.since:
                    yield stored


def write_ndjson(
    versions: Iterator[StoredVersion],
    out_dir: Path,
    *,
    accept: Accept | None = None,
    cancelled: threading.Event | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write ``versions`` to ``out_dir/<Type>.ndjson``; returns the count per type.

    ``accept`` drops resources (access rules, compartments); ``cancelled`` stops the run by
    raising :class:`Cancelled`; ``progress`` is told the running total now and then."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, BinaryIO] = {}
    counts: dict[str, int] = {}
    written = 0
    try:
        for stored in versions:
            if accept is not None and not accept(stored):
                continue
            out = files.get(stored.resource_type)
            if out is None:
                out = files[stored.resource_type] = open(  # closed in the finally below
                    out_dir / f"{stored.resource_type}.ndjson", "wb", buffering=1 << 20
                )
                counts[stored.resource_type] = 0
            out.write(stored.body)
            out.write(b"\n")
            counts[stored.resource_type] += 1
            written += 1
            if written % 10_000 == 0:
                if cancelled is not None and cancelled.is_set():
                    raise Cancelled
                if progress is not None:
                    progress(written)
    finally:
        for out in files.values():
            out.close()
    if cancelled is not None and cancelled.is_set():
        raise Cancelled
    return counts


__all__ = [
    "Accept",
    "Cancelled",
    "ExportPlan",
    "Progress",
    "group_patients",
    "planned_versions",
    "write_ndjson",
]
