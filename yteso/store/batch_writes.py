"""Writing many versions at once: one existence check per type, one sequence reservation and
one batch insert (``executemany`` on SQLite, ``COPY`` on PostgreSQL) for the whole batch.

Used by ``bulk_write``, the bulk loader's writer and ``SqlSession.create_many`` (the batched
path for transaction Bundles, https://hl7.org/fhir/R4/http.html#transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from yteso.fhir import json_codec
from yteso.fhir.errors import Invalid, Issue
from yteso.fhir.types import Json
from yteso.store.bulk_prepare import PreparedResource, prepare_resource
from yteso.store.index_blocks import IndexBlock, Key, merged_blocks
from yteso.store.match_records import MATCHED_TYPE, MatchEntryOf, carry_versions, write_entries
from yteso.store.meta_stamp import restamp_version
from yteso.store.resource_ids import new_resource_id
from yteso.store.sql_backend import Backend, Executor, VersionRow

_EXISTING_CHUNK = 5000


def prepare_all(
    resources: Sequence[Json],
    now: datetime,
    *,
    server_ids: bool = False,
    ids: Sequence[str] | None = None,
) -> list[PreparedResource]:
    """Validate and stamp every resource; :class:`Invalid` with every issue of every resource
    (diagnostics prefixed by its position) when any is invalid. ``server_ids``: assign new ids
    (a create; ``ids`` gives them when the caller has), else keep each resource's id
    (assigning one only when absent)."""
    if ids is not None and len(ids) != len(resources):
        raise ValueError("one id per resource")
    prepared: list[PreparedResource] = []
    problems: list[Issue] = []
    for position, resource in enumerate(resources):
        given = ids[position] if ids is not None else None
        outcome = prepare_resource(
            resource, now, id=given or (new_resource_id() if server_ids else None)
        )
        if isinstance(outcome, list):
            problems.extend(_located(issue, position) for issue in outcome)
        else:
            prepared.append(outcome._replace(method="POST") if server_ids else outcome)
    if problems:
        raise Invalid(issues=problems)
    return prepared


def write_batch(
    backend: Backend,
    db: Executor,
    prepared: Sequence[PreparedResource],
    *,
    all_new: bool = False,
    match_entry: MatchEntryOf | None = None,
    blocks: Sequence[IndexBlock] | None = None,
    match_unchanged: bool = False,
) -> list[VersionRow]:
    """Write prepared resources inside the caller's transaction; an id already stored (or
    repeated in the batch) gets the next version. ``all_new`` skips the existence check (fresh
    server ids). ``match_entry``: the MPI's match rows of Patients are written too;
    ``match_unchanged`` instead: the caller knows the Patients' match features are unchanged,
    so their match rows only move to the new versions.
    ``blocks``: the batch's index rows as the bulk loader's workers grouped them (in input
    order; the items' own ``index_rows`` are then not used)."""
    existing = {} if all_new else _existing(backend, db, prepared)
    latest = dict(existing)
    rows: list[VersionRow] = []
    for item in prepared:
        key = (item.resource_type, item.id)
        version = latest.get(key, 0) + 1
        latest[key] = version
        body = item.body if version == 1 else restamp_version(item.body, version)
        rows.append(
            VersionRow(
                item.resource_type,
                item.id,
                version,
                item.last_updated,
                False,
                item.method,
                item.compartment,
                body,
            )
        )
    if rows:
        seqs = backend.reserve_seqs(db, len(rows))
        backend.insert_versions(db, rows, seqs, set(latest) - set(existing))
    # Index rows: one bulk insert per table; ids that existed before lose their old rows first,
    # and an id repeated in the batch keeps only its last version's rows.
    if blocks is not None:
        _write_blocks(backend, db, blocks, existing)
    else:
        last = {(item.resource_type, item.id): item.index_rows for item in prepared}
        entries = [(type_, id, index_rows) for (type_, id), index_rows in last.items()]
        backend.write_index_rows(db, entries, set(existing))
    if match_entry is not None:
        _write_match_entries(backend, db, prepared, existing, latest, match_entry)
    elif match_unchanged:
        moves = [
            (id, existing[(type_, id)], version)
            for (type_, id), version in latest.items()
            if type_ == MATCHED_TYPE and (type_, id) in existing
        ]
        carry_versions(backend, db, moves)
    return rows


def _write_blocks(
    backend: Backend, db: Executor, blocks: Sequence[IndexBlock], existing: dict[Key, int]
) -> None:
    """Each block in order; a key already stored, or written by an earlier block of this
    batch, loses its earlier rows first (each block holds a key at most once). Consecutive
    COPY blocks that replace nothing are written as one, in the same order: one COPY per
    table and batch instead of per chunk (a round trip and a COPY start each; the search
    tables' COPYs took ~30 % less time). SQLite's inserts have no such cost per statement."""
    written: set[Key] = set(existing)
    pending: list[IndexBlock] = []
    for block in blocks:
        replaced = [key for key in block.keys if key in written]
        if not replaced and backend.index_block_format == "copy":
            pending.append(block)
        else:
            _write_merged(backend, db, pending)
            pending = []
            backend.write_index_block(db, block, replaced)
        written.update(block.keys)
    _write_merged(backend, db, pending)


def _write_merged(backend: Backend, db: Executor, blocks: list[IndexBlock]) -> None:
    if len(blocks) == 1:
        backend.write_index_block(db, blocks[0], [])
    elif blocks:
        backend.write_index_block(db, merged_blocks(blocks), [])


def _write_match_entries(
    backend: Backend,
    db: Executor,
    prepared: Sequence[PreparedResource],
    existing: dict[tuple[str, str], int],
    latest: dict[tuple[str, str], int],
    match_entry: MatchEntryOf,
) -> None:
    last = {item.id: item.body for item in prepared if item.resource_type == MATCHED_TYPE}
    if not last:
        return
    entries = [
        (id, latest[(MATCHED_TYPE, id)], match_entry(json_codec.loads(body)))
        for id, body in last.items()
    ]
    replaced = [id for id in last if (MATCHED_TYPE, id) in existing]
    write_entries(backend, db, entries, replaced)


def _existing(
    backend: Backend, db: Executor, prepared: Sequence[PreparedResource]
) -> dict[tuple[str, str], int]:
    by_type: dict[str, list[str]] = {}
    for item in prepared:
        by_type.setdefault(item.resource_type, []).append(item.id)
    found: dict[tuple[str, str], int] = {}
    for resource_type, ids in by_type.items():
        for start in range(0, len(ids), _EXISTING_CHUNK):
            chunk = ids[start : start + _EXISTING_CHUNK]
            for id, version in backend.existing_versions(db, resource_type, chunk).items():
                found[(resource_type, id)] = version
    return found


def _located(issue: Issue, position: int) -> Issue:
    diagnostics = f"resource {position}: {issue.diagnostics}"
    return Issue(issue.severity, issue.code, diagnostics, issue.expression)
