"""The resources a file holds, with where they came from: NDJSON lines and Bundle entries.

Transaction and batch Bundles honour ``request`` for PUT (the id comes from ``request.url``)
and POST (a new server id, with ``urn:uuid:`` references to the entry rewritten across the
Bundle, https://hl7.org/fhir/R4/bundle.html#references); other methods are reported, not
loaded. Entries of other Bundle types load as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.store.resource_ids import new_resource_id

_REQUEST_TYPES = ("transaction", "batch")


@dataclass(frozen=True)
class SourcedResource:
    """One resource to load, or the problem that stops it (``resource`` is then ``None``)."""

    line: int | None
    entry: int | None
    resource: object  # parsed JSON; anything but an object is reported
    id: str | None = None  # overrides the resource's id (PUT url, POST assignment)
    problem: Issue | None = None


def ndjson_resources(lines: list[bytes], first_line: int) -> list[SourcedResource]:
    found = []
    for offset, raw in enumerate(lines):
        if not raw.strip():
            continue
        line = first_line + offset
        try:
            resource = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            found.append(SourcedResource(line, None, None, problem=_bad_json(exc)))
            continue
        found.append(SourcedResource(line, None, resource))
    return found


def json_file_resources(content: bytes) -> list[SourcedResource]:
    """A Bundle's entries, or the single resource a ``.json`` file holds."""
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        return [SourcedResource(None, None, None, problem=_bad_json(exc))]
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        return [SourcedResource(None, None, document)]
    entries = document.get("entry") or []
    if document.get("type") not in _REQUEST_TYPES:
        return [
            SourcedResource(None, index, entry.get("resource") if isinstance(entry, dict) else None)
            for index, entry in enumerate(entries)
        ]
    return _request_entries(entries)


def _request_entries(entries: list[Json]) -> list[SourcedResource]:
    assigned: dict[str, str] = {}
    ids: list[str | None] = []
    for entry in entries:
        request = entry.get("request") or {}
        resource = entry.get("resource") or {}
        new_id = None
        if request.get("method") == "POST":
            new_id = new_resource_id()
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and full_url.startswith("urn:uuid:"):
                assigned[full_url] = f"{resource.get('resourceType')}/{new_id}"
        elif request.get("method") == "PUT":
            new_id = str(request.get("url", "")).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        ids.append(new_id)
    found = []
    for index, (entry, new_id) in enumerate(zip(entries, ids, strict=True)):
        method = (entry.get("request") or {}).get("method")
        if new_id is None:
            issue = Issue("error", "not-supported", f"entry request method {method} is not loaded")
            found.append(SourcedResource(None, index, None, problem=issue))
            continue
        resource = _rewrite_references(entry.get("resource"), assigned)
        found.append(SourcedResource(None, index, resource, id=new_id))
    return found


def _rewrite_references(value: object, assigned: dict[str, str]) -> object:
    if not assigned:
        return value
    if isinstance(value, dict):
        return {
            key: assigned.get(item, item)
            if key == "reference" and isinstance(item, str)
            else _rewrite_references(item, assigned)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_references(item, assigned) for item in value]
    return value


def _bad_json(exc: orjson.JSONDecodeError) -> Issue:
    return Issue("fatal", "structure", f"not valid JSON: {exc}")
