"""``meta.versionId`` and ``meta.lastUpdated`` are the server's; all other content is the client's.

https://hl7.org/fhir/R4/resource.html#Meta — the store sets these two on every version and keeps
the client's ``profile``, ``tag``, ``security`` and ``source``; nothing else is touched.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

import orjson

from yteso.fhir import json_codec
from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.store.instants import format_instant


def stamped(resource: Json, resource_id: str, version: int, last_updated: datetime) -> Json:
    """A copy of ``resource`` with its id and server meta (``resourceType``, ``id``, ``meta``
    first, as the spec's examples order them)."""
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = format_instant(last_updated)
    out: Json = {"resourceType": resource["resourceType"], "id": resource_id, "meta": meta}
    for key, value in resource.items():
        if key not in out:
            out[key] = value
    return out


# orjson writes characters below U+0020 (other than tab, CR, LF) as \u00XX escapes; an odd run
# of backslashes before one means the escape is real, not an escaped backslash in the text.
_CONTROL_ESCAPE: Final = re.compile(rb"(?<!\\)(?:\\\\)*\\u00[01][0-9a-fA-F]")


def stamped_body(resource: Json, resource_id: str, version: int, last_updated: datetime) -> bytes:
    """The JSON to store; :class:`Invalid` when a string holds a control character, which FHIR
    forbids (https://hl7.org/fhir/R4/datatypes.html#string) and PostgreSQL's JSONB rejects."""
    body = json_codec.dumps(stamped(resource, resource_id, version, last_updated))
    _check_controls(body, resource)
    return body


def _check_controls(body: bytes, resource: Json) -> None:
    # a lone backslash is found by memchr; "\\u00" by a byte-skipping search that digits slow
    if b"\\" in body and b"\\u00" in body and _CONTROL_ESCAPE.search(body):
        raise Invalid(
            "strings must not contain control characters (below U+0020 except tab, CR, LF)",
            expression=str(resource["resourceType"]),
        )


def spliced_body(
    text: bytes, resource: Json, resource_id: str, version: int, last_updated: datetime
) -> bytes | None:
    """:func:`stamped_body` made from ``text``, orjson's own text of ``resource``
    (``json_codec.loads_text``), without writing the resource again (~1/3 of the cost): its
    leading ``resourceType``, ``id`` and ``meta`` swapped for the stamped ones. None when that
    would not give the same bytes (those keys in another order, a ``meta`` that holds
    ``versionId`` or ``lastUpdated`` already); :class:`Invalid` as :func:`stamped_body`."""
    resource_type = orjson.dumps(resource["resourceType"])
    head = b'{"resourceType":' + resource_type
    if "id" in resource:
        head += b',"id":' + orjson.dumps(resource["id"])
    stamp = _stamp(version, last_updated)
    meta = resource.get("meta", _ABSENT)
    if meta is not _ABSENT:
        if type(meta) is not dict or "versionId" in meta or "lastUpdated" in meta:
            return None
        written = orjson.dumps(meta)
        head += b',"meta":' + written
        if meta:  # the client's meta keys first, then the server's (as stamped() orders them)
            stamp = written[:-1] + b"," + stamp[1:]
    # text is exactly dumps(resource): starting with ``head`` followed by the end of a value,
    # its first keys and values are those of ``head``, in that order
    end = len(head)
    if not text.startswith(head) or text[end : end + 1] not in (b",", b"}"):
        return None
    parts = (b'{"resourceType":', resource_type, b',"id":', orjson.dumps(resource_id))
    body = b"".join((*parts, b',"meta":', stamp, memoryview(text)[end:]))
    _check_controls(body, resource)
    return body


_ABSENT: Final = object()
_STAMPS: Final[dict[tuple[int, datetime], bytes]] = {}


def _stamp(version: int, last_updated: datetime) -> bytes:
    """The server's meta as JSON; a bulk load stamps a whole chunk with the same one."""
    key = (version, last_updated)
    stamp = _STAMPS.get(key)
    if stamp is None:
        if len(_STAMPS) >= 64:
            _STAMPS.clear()
        meta = {"versionId": str(version), "lastUpdated": format_instant(last_updated)}
        stamp = _STAMPS[key] = orjson.dumps(meta)
    return stamp


def restamp_version(body: bytes, version: int) -> bytes:
    """The same stored JSON with another ``meta.versionId`` (bulk loads guess version 1)."""
    resource = json_codec.loads(body)
    resource["meta"]["versionId"] = str(version)
    return json_codec.dumps(resource)
