"""What the deferred-index tests read back: the indexes a bulk load may defer that exist, and
those recorded as dropped (``deferred_indexes``)."""

from __future__ import annotations

from yteso.store import SqlStore


def definitions(store: SqlStore) -> dict[str, str]:
    """The deferrable secondary indexes: name -> definition."""
    query = store.backend.queries["deferrable_index_definitions"]
    with store.backend.reading() as db:
        return {str(n): str(d) for n, d in db.rows(query)}


def deferred(store: SqlStore) -> list[str]:
    """The indexes recorded as dropped and not yet rebuilt."""
    with store.backend.reading() as db:
        return [str(name) for name, _ in db.rows(store.backend.queries["deferred_indexes"])]
