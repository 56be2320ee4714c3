"""``meta.versionId`` and ``meta.lastUpdated`` are the server's; all other content is the client's.

https://hl7.org/fhir/R4/resource.html#Meta — the store sets these two on every version and keeps
the client's ``profile``, ``tag``, ``security`` and ``source``; nothing else is touched.
"""

from __future__ import annotations

import re
from datetime import datetime

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
_CONTROL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u00[01][0-9a-fA-F]")


def stamped_body(resource: Json, resource_id: str, version: int, last_updated: datetime) -> bytes:
    """The JSON to store; :class:`Invalid` when a string holds a control character, which FHIR
    forbids (https://hl7.org/fhir/R4/datatypes.html#string) and PostgreSQL's JSONB rejects."""
    body = json_codec.dumps(stamped(resource, resource_id, version, last_updated))
    if b"\\u00" in body and _CONTROL_ESCAPE.search(body):
        raise Invalid(
            "strings must not contain control characters (below U+0020 except tab, CR, LF)",
            expression=str(resource["resourceType"]),
        )
    return body


def restamp_version(body: bytes, version: int) -> bytes:
    """The same stored JSON with another ``meta.versionId`` (bulk loads guess version 1)."""
    resource = json_codec.loads(body)
    resource["meta"]["versionId"] = str(version)
    return json_codec.dumps(resource)
