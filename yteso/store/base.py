"""The storage contract every backend (SQLite, PostgreSQL) implements.

Everything above ``store`` (api, modules, cli) talks to a :class:`Store`; nothing above it
knows which backend runs. Resources are stored whole as JSON bytes that already carry
``meta.versionId`` and ``meta.lastUpdated``, so a read returns the stored bytes unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from yteso.fhir import json_codec
from yteso.fhir.types import Json
from yteso.store.match_records import StoreHooks

if TYPE_CHECKING:  # parallel_prepare imports the store's modules: for annotations only
    from yteso.store.parallel_prepare import Prepare


@dataclass(frozen=True)
class StoredVersion:
    """One version of one resource as stored."""

    resource_type: str
    id: str
    version: int
    last_updated: datetime  # timezone-aware, UTC
    deleted: bool
    body: bytes  # the resource JSON (with meta); b"" for a delete marker
    method: str = "PUT"  # POST | PUT | DELETE | PATCH: how this version was made (history)

    def resource(self) -> Json:
        data: Json = json_codec.loads(self.body)
        return data


@dataclass(frozen=True)
class SearchParam:
    """One search parameter occurrence: ``name[:modifier]=v1,v2`` (values are ORed)."""

    name: str
    values: tuple[str, ...]
    modifier: str | None = None


class Reach(Protocol):
    """What one caller may see, for the criteria the store evaluates on the caller's behalf:
    the inner sets of chains, ``_has`` and ``_list`` (other types than the one searched), and
    the matches of conditional interactions."""

    def criteria(self, resource_type: str) -> tuple[SearchParam, ...] | None:
        """Criteria selecting exactly what the caller may see of ``resource_type`` (``()``:
        everything); None when that cannot be said as criteria (the store then refuses a
        parameter that would look into the type, whatever the data)."""
        ...

    def sees(self, stored: StoredVersion) -> bool:
        """Whether a conditional interaction may consider this match (what the caller may
        not see is treated as absent)."""
        ...


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: parameters (ANDed) plus result controls."""

    params: tuple[SearchParam, ...] = ()
    count: int | None = None
    cursor: str | None = None  # opaque paging cursor from a previous page's link
    total: str | None = None  # none | estimate | accurate
    sort: tuple[str, ...] = ()  # "-_lastUpdated", "_id", ...
    reach: Reach | None = field(default=None, compare=False)  # None: the caller sees everything


@dataclass(frozen=True)
class SearchResult:
    matches: list[StoredVersion]
    total: int | None = None
    next_cursor: str | None = None
    previous_cursor: str | None = None
    included: list[StoredVersion] = field(default_factory=list)


@dataclass(frozen=True)
class WriteResult:
    stored: StoredVersion
    created: bool  # True when a new resource came into being (create, update-as-create)
    changed: bool = True  # False when conditional create found an existing match


class StoreSession(Protocol):
    """Operations inside one atomic database transaction (a FHIR transaction Bundle uses one)."""

    clock: Callable[[], datetime]  # the store's clock (meta.lastUpdated of what it writes)

    def create(
        self, resource: Json, *, id: str | None = None, if_none_exist: SearchQuery | None = None
    ) -> WriteResult: ...

    def create_many(
        self, resources: Sequence[Json], *, ids: Sequence[str] | None = None
    ) -> list[WriteResult]: ...

    def update(self, resource: Json, *, if_match: int | None = None) -> WriteResult: ...

    def delete(self, resource_type: str, id: str, *, if_match: int | None = None) -> bool: ...

    def read(self, resource_type: str, id: str) -> StoredVersion: ...

    def read_many(self, resource_type: str, ids: Sequence[str]) -> dict[str, StoredVersion]: ...

    def lock_many(self, keys: Sequence[str]) -> None: ...

    def referencing(
        self, resource_type: str, param: str, target_type: str, ids: Sequence[str]
    ) -> set[str]: ...

    def write_versions(
        self,
        versions: Sequence[tuple[Json, datetime, str]],
        *,
        match_records: bool = True,
        prepare: Prepare | None = None,
    ) -> list[StoredVersion]: ...

    def search(self, resource_type: str | None, query: SearchQuery) -> SearchResult: ...

    def conditional_update(self, resource: Json, query: SearchQuery) -> WriteResult: ...

    def conditional_delete(
        self, resource_type: str, query: SearchQuery, *, multiple: bool = False
    ) -> int: ...

    def match_candidates(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        """(id, features) of the Patients sharing a blocking key (``match_records``)."""
        ...


class Store(Protocol):
    url: str
    dialect: str  # "sqlite" | "postgresql"
    hooks: StoreHooks  # what the master patient index adds to Patient writes

    def session(self) -> AbstractContextManager[StoreSession]: ...

    def read(self, resource_type: str, id: str) -> StoredVersion: ...

    def vread(self, resource_type: str, id: str, version: int) -> StoredVersion: ...

    def history(
        self,
        resource_type: str | None = None,
        id: str | None = None,
        *,
        since: datetime | None = None,
        count: int = 100,
        cursor: str | None = None,
    ) -> SearchResult: ...

    def search(self, resource_type: str | None, query: SearchQuery) -> SearchResult: ...

    def supported_search_params(self, resource_type: str | None) -> frozenset[str]: ...

    def counts(self) -> dict[str, int]: ...

    def bulk_write(self, resources: Sequence[Json]) -> int: ...

    def iter_current(self, resource_type: str | None = None) -> Iterator[StoredVersion]: ...

    def match_candidates(self, keys: Sequence[str]) -> list[tuple[str, str]]: ...

    def iter_match_records(self) -> Iterator[tuple[str, str]]: ...

    def rebuild_match_records(self, full: bool = False) -> int: ...

    def close(self) -> None: ...
