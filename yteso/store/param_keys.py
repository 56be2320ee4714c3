"""The 64-bit parameter key of a search index row: one integer for (resource type, parameter).

Every search table row carries ``pkey`` beside its ``resource_type`` and ``param`` texts
(migration 0015), and the value indexes lead with it instead of those two texts: an index
build compares one 8-byte integer where it walked two low-cardinality texts before reaching
the value (on PostgreSQL ``nocache_index_getattr`` was ~20 % of a bulk load's server CPU:
attributes after a text column have no cached offset), and every key is shorter. HAPI FHIR
keys its index rows by a hash of (resource type, parameter) the same way.

The key is the first 8 bytes of ``md5(resource_type || '|' || param)`` read as a big-endian
signed integer: stable across processes and versions (never Python's ``hash()``), and what
PostgreSQL computes in SQL (``('x' || left(md5(...), 16))::bit(64)::bigint``, migration 0015)
and SQLite through :data:`SQL_FUNCTION`, registered on every connection. A search tests
``pkey = ?`` alone, so two pairs with one key would mix their rows: :func:`collisions` finds
them (a test checks every official pair; a custom SearchParameter that would collide is
refused when it is stored).
"""

from __future__ import annotations

from collections.abc import Iterable

SQL_FUNCTION = "yteso_param_key"  # SQLite: param_key as a deterministic SQL function

_BY_TYPE: dict[str, dict[str, int]] = {}


def param_key(resource_type: str, param: str) -> int:
    """The key of ``param``'s rows of ``resource_type`` (a signed 64-bit integer)."""
    from hashlib import md5  # here: importing hashlib costs every process ~2 ms (native.py)

    digest = md5(f"{resource_type}|{param}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def keys_of(resource_type: str) -> dict[str, int]:
    """The keys of ``resource_type``'s parameters computed so far, by parameter: the writers
    look a row's key up here (one dict lookup per row) and add what is missing."""
    keys = _BY_TYPE.get(resource_type)
    if keys is None:
        keys = _BY_TYPE[resource_type] = {}
    return keys


def cached_key(resource_type: str, param: str) -> int:
    keys = keys_of(resource_type)
    key = keys.get(param)
    if key is None:
        key = keys[param] = param_key(resource_type, param)
    return key


def collisions(pairs: Iterable[tuple[str, str]]) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Pairs of distinct (type, parameter) with the same key (none expected: 2^-64 a pair)."""
    seen: dict[int, tuple[str, str]] = {}
    found = []
    for pair in pairs:
        key = param_key(*pair)
        other = seen.setdefault(key, pair)
        if other != pair:
            found.append((other, pair))
    return found
