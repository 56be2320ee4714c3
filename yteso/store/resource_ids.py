"""Server-assigned resource ids: sortable by creation time and collision-free.

A UUIDv7-like layout (48-bit millisecond clock, then 80 random bits) rendered in lowercase
Crockford base32 as 26 characters, which fits FHIR's ``id`` rule ``[A-Za-z0-9\\-\\.]{1,64}``
(https://hl7.org/fhir/R4/datatypes.html#id). Time-ordered ids keep B-tree inserts at the right
edge of the index (cheap bulk loads) while the random tail makes collisions negligible across
processes.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_lock = threading.Lock()
_last = 0


def new_resource_id() -> str:
    """A fresh 26-character id; within a process each id sorts after the previous one (in one
    millisecond the previous value plus one, as UUIDv7's monotonic-counter method does)."""
    global _last
    fresh = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    with _lock:
        value = _last = max(fresh, _last + 1)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
