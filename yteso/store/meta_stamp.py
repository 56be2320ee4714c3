"""``meta.versionId`` and ``meta.lastUpdated`` are the server's; all other content is the client's.

https://hl7.org/fhir/R4/resource.html#Meta — the store sets these two on every version and keeps
the client's ``profile``, ``tag``, ``security`` and ``source``; nothing else is touched.
"""

from __future__ import annotations

import re
from datetime import datetime

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
    meta["lastUpdated"] = _instant_text(last_updated)
    out: Json = {"resourceType": resource["resourceType"], "id": resource_id, "meta": meta}
    for key, value in resource.items():
        if key not in out:
            out[key] = value
    return out


# orjson writes characters below U+0020 (other than tab, CR, LF) as \u00XX escapes; an odd run
# of backslashes before one means the escape is real, not an escaped backslash in the text.
_CONTROL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u00[01][0-9a-fA-F]")


def stamped_body(resource: Json, resource_id: str, version: int, last_updated: datetime) -> bytes:
    """The JSON to store; :class:`Invalid` when a string holds a control character, which FHIR
    forbids (https://hl7.org/fhir/R4/datatypes.html#string) and PostgreSQL's JSONB rejects."""
    body = _spliced(resource, resource_id, version, last_updated)
    if body is None:
        body = json_codec.dumps(stamped(resource, resource_id, version, last_updated))
    if b"\\u00" in body and _CONTROL_ESCAPE.search(body):
        raise Invalid(
            "strings must not contain control characters (below U+0020 except tab, CR, LF)",
            expression=str(resource["resourceType"]),
        )
    return body


# (moment, its text, as JSON): a bulk chunk or a transaction stamps one instant on every
# resource, and format_instant's cache hashes the datetime (its UTC offset) on each call
_LAST_INSTANT: list[tuple[datetime, str, bytes]] = []


def _instant(moment: datetime) -> tuple[datetime, str, bytes]:
    last = _LAST_INSTANT[0] if _LAST_INSTANT else None  # read once: writes may interleave
    if last is not None and last[0] is moment:
        return last
    text = format_instant(moment)
    entry = (moment, text, orjson.dumps(text))
    _LAST_INSTANT[:] = [entry]
    return entry


def _instant_text(moment: datetime) -> str:
    return _instant(moment)[1]


def _spliced(
    resource: Json, resource_id: str, version: int, last_updated: datetime
) -> bytes | None:
    """:func:`stamped`'s JSON without the copy (~12k instructions of ~38k): the resource's own
    JSON with the id replaced and the server's meta spliced in after it. Only for the usual
    shape, ``resourceType`` then ``id`` first, then either no ``meta`` or a non-empty one
    without ``versionId``/``lastUpdated`` (its keys keep their order, the server's two go
    last, as the copy writes them); None otherwise (the copy is written)."""
    keys = iter(resource)
    if next(keys, None) != "resourceType" or next(keys, None) != "id":
        return None
    resource_type, own_id = resource["resourceType"], resource["id"]
    if type(resource_type) is not str or type(own_id) is not str or type(resource_id) is not str:
        return None
    whole = json_codec.dumps(resource)
    type_json = orjson.dumps(resource_type)
    head = b'{"resourceType":' + type_json + b',"id":' + orjson.dumps(own_id)
    if not whole.startswith(head):
        return None
    start = len(head)
    server = b'"versionId":"%d","lastUpdated":%s}' % (version, _instant(last_updated)[2])
    if "meta" not in resource:
        meta = b',"meta":{' + server
    else:
        client = resource["meta"]
        if next(keys, None) != "meta" or type(client) is not dict or not client:
            return None
        if "versionId" in client or "lastUpdated" in client:
            return None
        client_json = b',"meta":' + json_codec.dumps(client)
        if whole[start : start + len(client_json)] != client_json:
            return None
        meta = client_json[:-1] + b"," + server
        start += len(client_json)
    id_json = orjson.dumps(resource_id)
    return b"".join((b'{"resourceType":', type_json, b',"id":', id_json, meta, whole[start:]))


def restamp_version(body: bytes, version: int) -> bytes:
    """The same stored JSON with another ``meta.versionId`` (bulk loads guess version 1)."""
    resource = json_codec.loads(body)
    resource["meta"]["versionId"] = str(version)
    return json_codec.dumps(resource)
