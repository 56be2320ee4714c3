"""Per-deployment search options, kept in the database (``search_options``, migration 0009).

``content_index``: whether ``_content`` (every string of a resource, ~230 characters each) has a
trigram text index like ``_text`` (SQLite: its rows in the FTS5 table ``search_text_fts``;
PostgreSQL: the partial GIN index ``search_content_trigram``). Off by default: maintaining it
costs the writer (docs/benchmarks.md, "Search gaps"); a deployment whose users search
``_content`` turns it on with ``SqlStore.set_content_index(True)`` (``yteso reindex
--content-index on``). Results are the same either way: the index only finds candidates for
the ``LIKE`` test.

The query compiler needs the option only on SQLite (PostgreSQL's planner uses the index when
it exists); it is read with the custom-parameter signature before every search
(``SqlStore.sync_search_parameters``) and held per process, like the parameter registry.
"""

from __future__ import annotations

_STATE = {"content_index": False}


def content_indexed() -> bool:
    return _STATE["content_index"]


def set_content_indexed(enabled: bool) -> None:
    _STATE["content_index"] = enabled
