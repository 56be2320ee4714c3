"""Rebuild every current resource's search index rows (``yteso reindex``).

Needed after a database gains the index tables (migration 0003 on a store that already held
resources) or after the indexing rules change. Works a page of 1,000 resources at a time in
write order, one transaction per page, so it can run while the server serves requests.
https://hl7.org/fhir/R4/searchparameter.html
"""

from __future__ import annotations

from collections.abc import Callable

from yteso.store.custom_params import load_custom_parameters
from yteso.store.index_rows import IndexRow, extract_index_rows
from yteso.store.sql_store import SqlStore

PAGE = 1000


def reindex(store: SqlStore, progress: Callable[[int], None] | None = None) -> int:
    """Register the store's custom SearchParameters, then re-extract and replace the index rows
    of every current resource; returns how many."""
    load_custom_parameters(store)
    done = 0
    page: list[tuple[str, str, list[IndexRow]]] = []
    for stored in store.iter_current():
        page.append((stored.resource_type, stored.id, extract_index_rows(stored.resource())))
        if len(page) == PAGE:
            done += _write(store, page)
            page = []
            if progress is not None:
                progress(done)
    done += _write(store, page)
    if progress is not None:
        progress(done)
    return done


def _write(store: SqlStore, page: list[tuple[str, str, list[IndexRow]]]) -> int:
    if page:
        with store.backend.writing() as db:
            store.backend.write_index_rows(db, page, {(t, i) for t, i, _ in page})
    return len(page)
