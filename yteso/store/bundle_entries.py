"""The resources a JSON file holds, with where they came from: a resource or Bundle entries
(NDJSON lines: ``bulk_prepare.prepare_ndjson``).

Transaction and batch Bundles honour ``request`` for PUT (the id comes from ``request.url``)
and POST (a new server id, with ``urn:uuid:`` references to the entry rewritten across the
Bundle, https://hl7.org/fhir/R4/bundle.html#references); conditional requests and other methods
are reported, not loaded. Entries of other Bundle types load as they are.
"""

from __future__ import annotations

from typing import NamedTuple

import orjson

from yteso.fhir import json_codec
from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.store.resource_ids import new_resource_id

_REQUEST_TYPES = ("transaction", "batch")


class SourcedResource(NamedTuple):
    """One resource to load, or the problem that stops it (``resource`` is then ``None``).
    A NamedTuple: made once per entry, and a frozen dataclass sets each field through
    ``object.__setattr__``."""

    line: int | None
    entry: int | None
    resource: object  # parsed JSON; anything but an object is reported
    id: str | None = None  # overrides the resource's id (PUT url, POST assignment)
    problem: Issue | None = None


def json_file_resources(content: bytes) -> list[SourcedResource]:
    """A Bundle's entries, or the single resource a ``.json`` file holds."""
    try:
        document = json_codec.loads(content)
    except orjson.JSONDecodeError as exc:
        return [SourcedResource(None, None, None, problem=bad_json(exc))]
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        return [SourcedResource(None, None, document)]
    entries = document.get("entry") or []
    if document.get("type") not in _REQUEST_TYPES:
        return [
            SourcedResource(None, index, entry.get("resource") if isinstance(entry, dict) else None)
            for index, entry in enumerate(entries)
        ]
    return _request_entries(entries)


def _entry_id(entry: Json) -> str | Issue:
    """The id a transaction/batch entry writes to, or why the loader does not take it."""
    request = _object(entry.get("request"))
    resource = _object(entry.get("resource"))
    method, url = request.get("method"), str(request.get("url", ""))
    if method not in ("POST", "PUT"):
        return Issue("error", "not-supported", f"entry request method {method} is not loaded")
    if "?" in url or request.get("ifNoneExist"):
        return Issue(
            "error",
            "not-supported",
            "conditional requests are not bulk-loaded; POST the Bundle to the FHIR API",
        )
    if method == "POST":
        return new_resource_id()
    parts = url.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != resource.get("resourceType"):
        return Issue("error", "invalid", f"PUT url '{url}' does not name this resource's type")
    return parts[-1]


def _request_entries(entries: list[Json]) -> list[SourcedResource]:
    targets = [_entry_id(entry if isinstance(entry, dict) else {}) for entry in entries]
    assigned: dict[str, str] = {}
    for entry, target in zip(entries, targets, strict=True):
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if isinstance(target, str) and isinstance(full_url, str) and full_url.startswith("urn:"):
            resource_type = (entry.get("resource") or {}).get("resourceType")
            assigned[full_url] = f"{resource_type}/{target}"
    found = []
    for index, (entry, target) in enumerate(zip(entries, targets, strict=True)):
        if isinstance(target, Issue):
            found.append(SourcedResource(None, index, None, problem=target))
            continue
        resource = _rewrite_references(entry.get("resource"), assigned)
        found.append(SourcedResource(None, index, resource, id=target))
    return found


def _object(value: object) -> Json:
    return value if isinstance(value, dict) else {}


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


def bad_json(exc: orjson.JSONDecodeError) -> Issue:
    return Issue("fatal", "structure", f"not valid JSON: {exc}")
