"""The CPU-bound half of a bulk write: validate, assign ids, stamp meta, extract index rows.

Runs in the bulk loader's worker processes (or inline); what it returns is cheap to pickle so
one writer process can insert it in large batches. The version is stamped as 1; the writer,
which alone knows what already exists, restamps the few resources that are updates.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Final, NamedTuple

import orjson

from yteso.fhir.errors import Invalid, Issue
from yteso.fhir.json_codec import loads_text
from yteso.fhir.types import Json
from yteso.store.bundle_entries import bad_json
from yteso.store.compartments import patient_compartment_key
from yteso.store.index_rows import IndexRow, extract_index_rows
from yteso.store.meta_stamp import spliced_body, stamped_body
from yteso.store.resource_ids import new_resource_id
from yteso.store.validation_gate import rejecting, resource_issues


class PreparedResource(NamedTuple):
    resource_type: str
    id: str
    last_updated: datetime
    method: str  # POST (server id) | PUT (client id)
    compartment: str | None
    body: bytes  # stamped with meta.versionId "1"
    index_rows: list[IndexRow]


def prepare_resource(
    resource: Json, now: datetime, *, id: str | None = None, text: bytes | None = None
) -> PreparedResource | list[Issue]:
    """The row to write, or the issues that reject ``resource``.

    ``id`` overrides the resource's own id (a Bundle entry's ``request.url``); with neither,
    the server assigns one (``POST``). ``text``: orjson's own text of ``resource``, which the
    stored body is spliced from when it can be (the same bytes, without writing them again)."""
    issues = resource_issues(resource, text=text)
    if rejecting(issues):
        return issues
    resource_id = id or resource.get("id")
    method = "PUT"
    if not isinstance(resource_id, str):
        resource_id, method = new_resource_id(), "POST"
    try:
        body = None if text is None else spliced_body(text, resource, resource_id, 1, now)
        if body is None:
            body = stamped_body(resource, resource_id, 1, now)
    except Invalid as exc:
        return exc.issues
    resource_type = resource["resourceType"]
    # a Patient is its own compartment, under the id it is stored with (no copy to say so)
    compartment = resource_id if resource_type == "Patient" else patient_compartment_key(resource)
    return PreparedResource(
        resource_type, resource_id, now, method, compartment, body, extract_index_rows(resource)
    )


# A prepared resource as it crosses to the writer: PreparedResource's fields as a plain tuple,
# ``index_rows`` emptied (the chunk's index block holds them). A NamedTuple pickles and
# unpickles through a Python-level call each (~1.5 µs per resource); the writer rebuilds it.
PreparedFields = tuple[str, str, datetime, str, str | None, bytes, list[IndexRow]]
# (type, id, rows) of each prepared resource, in order: what ``index_blocks.index_block`` groups
IndexEntry = tuple[str, str, list[IndexRow]]
NOT_AN_OBJECT: Final = Issue("fatal", "structure", "a resource must be a JSON object")


def prepare_ndjson(
    lines: list[bytes], first_line: int, now: datetime
) -> tuple[list[PreparedFields], list[tuple[int, list[Issue]]], list[IndexEntry]]:
    """Parse, validate, stamp and index NDJSON lines (``first_line`` is the first one's
    number): the prepared resources, the rejected lines with their issues, and the index
    entries. Here rather than in the loader, which stays interpreted (docs/dev/native.md): the
    per-line loop compiled is ~4 % of a worker's instructions (docs/benchmarks.md, "Session
    15")."""
    prepared: list[PreparedFields] = []
    rejected: list[tuple[int, list[Issue]]] = []
    entries: list[IndexEntry] = []
    line = first_line - 1
    for raw in lines:
        line += 1
        if not raw.strip():
            continue  # blank lines (and the text after the last newline) hold no resource
        try:
            resource, exact = loads_text(raw)
        except orjson.JSONDecodeError as exc:
            rejected.append((line, [bad_json(exc)]))
            continue
        if type(resource) is not dict:
            rejected.append((line, [NOT_AN_OBJECT]))
            continue
        outcome = prepare_resource(resource, now, text=raw if exact else None)
        if isinstance(outcome, list):
            rejected.append((line, outcome))
            continue
        entries.append((outcome.resource_type, outcome.id, outcome.index_rows))
        prepared.append(
            (
                outcome.resource_type,
                outcome.id,
                outcome.last_updated,
                outcome.method,
                outcome.compartment,
                outcome.body,
                [],
            )
        )
    return prepared, rejected, entries


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off while a worker prepares a part: what a part allocates is freed
    by reference counting when its result is sent, yet young collections kept scanning it
    (~29 of ~245 µs per resource in the bulk loader). A cycle left behind is collected later."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
