"""The FHIR records user accounts are linked to, read from the platform database.

Implements :class:`yteso.auth.directory.Directory` over a :class:`Store` (auth may not import
the store; ``yteso.app`` passes this in): a citizen's Patient is found by its CCCD identifier
through the ``identifier`` search index, a practitioner's PractitionerRole is read by id.
"""

from __future__ import annotations

from yteso.fhir.errors import NotFound
from yteso.fhir.types import Json
from yteso.store.base import SearchParam, SearchQuery, Store

# Enough to tell "one" from "several"; a national ID shared by more records is a data problem.
MAX_MATCHES = 20


class StoreDirectory:
    def __init__(self, store: Store) -> None:
        self.store = store

    def read(self, resource_type: str, id: str) -> Json | None:
        try:
            stored = self.store.read(resource_type, id)
        except NotFound:
            return None
        return None if stored.deleted else stored.resource()

    def with_identifier(self, resource_type: str, system: str, value: str) -> list[Json]:
        wanted = SearchParam("identifier", (f"{system}|{value}",))
        found = self.store.search(resource_type, SearchQuery((wanted,), count=MAX_MATCHES))
        return [stored.resource() for stored in found.matches if not stored.deleted]


__all__ = ["StoreDirectory"]
