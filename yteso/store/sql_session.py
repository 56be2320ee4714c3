"""Writes inside one database transaction: create, update, delete and their conditional forms.

https://hl7.org/fhir/R4/http.html#create, #update, #delete, #cond-update, #concurrency.
Every write validates first (nothing invalid is stored), then takes a lock on the resource
(PostgreSQL advisory lock; SQLite already holds the database write lock from
``BEGIN IMMEDIATE``), so concurrent version-aware updates never lose one another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from yteso.fhir.errors import Conflict, Invalid, PreconditionFailed
from yteso.fhir.types import Json
from yteso.store.base import SearchQuery, SearchResult, StoredVersion, WriteResult
from yteso.store.batch_writes import prepare_all, write_batch
from yteso.store.bulk_prepare import PreparedResource
from yteso.store.compartments import patient_compartment_key
from yteso.store.index_rows import extract_index_rows
from yteso.store.match_records import (
    MATCHED_TYPE,
    NO_HOOKS,
    StoreHooks,
    find_candidates,
    write_entries,
)
from yteso.store.meta_stamp import stamped_body
from yteso.store.parallel_prepare import Prepare, prepare_versions
from yteso.store.resource_ids import new_resource_id
from yteso.store.shared_rows import row_source
from yteso.store.sql_backend import Backend, Executor, VersionRow
from yteso.store.sql_reads import read_current, run_search
from yteso.store.validation_gate import require_valid

_MANY_CHUNK = 1000
# Matches screened one by one are read in pages of this size (hidden ones are skipped).
SCREENED_PAGE = 100


def criteria_key(resource_type: str, query: SearchQuery) -> str:
    """A canonical text for search criteria, so equal criteria share one lock."""
    parts = sorted(
        f"{p.name}{':' + p.modifier if p.modifier else ''}={','.join(p.values)}"
        for p in query.params
    )
    return f"criteria:{resource_type}?{'&'.join(parts)}"


class SqlSession:
    """A :class:`~yteso.store.base.StoreSession` over one open transaction."""

    def __init__(
        self,
        backend: Backend,
        db: Executor,
        clock: Callable[[], datetime],
        hooks: StoreHooks = NO_HOOKS,
    ) -> None:
        self.backend = backend
        self.db = db
        self.clock = clock
        self.hooks = hooks

    def match_candidates(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        """(id, features) of the Patients sharing a blocking key (see ``match_records``).

        The keys are locked until the transaction ends (in one order: no deadlock between
        two single writes), so two writers of one person at once run one after the other and
        the second sees the first's record."""
        for key in sorted(set(keys)):
            self.backend.lock(self.db, f"match:{key}")
        return find_candidates(self.backend, self.db, keys)

    def read(self, resource_type: str, id: str) -> StoredVersion:
        return read_current(self.backend, self.db, resource_type, id)

    def read_many(self, resource_type: str, ids: Sequence[str]) -> dict[str, StoredVersion]:
        """The current versions of many ids, a few queries in all (unknown and deleted ids are
        left out)."""
        found: dict[str, StoredVersion] = {}
        unique = sorted(set(ids))
        for start in range(0, len(unique), _MANY_CHUNK):
            chunk = unique[start : start + _MANY_CHUNK]
            for row in self.backend.read_current_many(self.db, resource_type, chunk):
                id, version, last_updated, body, method = row
                moment = self.backend.dialect.read_instant(last_updated)
                text = body.encode() if isinstance(body, str) else bytes(body)
                found[id] = StoredVersion(resource_type, id, version, moment, False, text, method)
        return found

    def referencing(
        self, resource_type: str, param: str, target_type: str, ids: Sequence[str]
    ) -> set[str]:
        """Ids of the current ``resource_type`` resources whose reference search parameter
        ``param`` names any of ``target_type/ids``: ``Type?param=Target/a,Target/b,...`` for
        thousands of targets, a few indexed queries (the search engine's OR of so many values
        is planned as a scan)."""
        found: set[str] = set()
        source = row_source(resource_type, param, "reference")  # shared rows: theirs
        if source.target_type not in (None, target_type):
            return found  # the parameter names no resource of that type
        unique = sorted(set(ids))
        for start in range(0, len(unique), _MANY_CHUNK):
            chunk = unique[start : start + _MANY_CHUNK]
            found.update(
                self.backend.referencing_ids(
                    self.db, resource_type, source.param, target_type, chunk
                )
            )
        return found

    def lock_many(self, keys: Sequence[str]) -> None:
        """Take the write locks of many resources (``Type/id``, as every update takes its own)
        until the transaction ends, in one order so two such callers cannot deadlock."""
        self.backend.lock_many(self.db, sorted(set(keys)))

    def write_versions(
        self,
        versions: Sequence[tuple[Json, datetime, str]],
        *,
        match_records: bool = True,
        prepare: Prepare | None = None,
    ) -> list[StoredVersion]:
        """Write many versions, each ``(resource with its id, its lastUpdated, POST | PUT)``, in
        one batch insert: an id already stored, or repeated, gets its next version. Validated
        first like every write (:class:`Invalid` with every issue); the caller holds the locks
        (:meth:`lock_many`) and has done what ``before_write`` would (it is not run).
        ``match_records=False``: the caller knows the Patients' match rows are unchanged.
        ``prepare``: how the versions are validated and indexed (a :class:`PreparePool`'s
        workers; by default here)."""
        prepared: list[PreparedResource] = []
        outcomes = (prepare or prepare_versions)(versions)
        if len(outcomes) != len(versions):
            raise RuntimeError("prepare returned another number of versions")
        for outcome in outcomes:
            if isinstance(outcome, list):
                raise Invalid(issues=outcome)
            prepared.append(outcome)
        match_entry = self.hooks.match_entry if match_records else None
        rows = write_batch(
            self.backend,
            self.db,
            prepared,
            match_entry=match_entry,
            match_unchanged=not match_records and self.hooks.match_entry is not None,
        )
        return [_stored(row) for row in rows]

    def search(self, resource_type: str | None, query: SearchQuery) -> SearchResult:
        return run_search(self.backend, self.db, resource_type, query, self.clock())

    def create(
        self, resource: Json, *, id: str | None = None, if_none_exist: SearchQuery | None = None
    ) -> WriteResult:
        """Create with a server id (or ``id`` for a caller that assigned one, e.g. a
        transaction); ``if_none_exist``: 0 matches create, 1 returns it, more fail (412)."""
        require_valid(resource)
        resource_type: str = resource["resourceType"]
        if if_none_exist is not None:
            self.backend.lock(self.db, criteria_key(resource_type, if_none_exist))
            found = self._matches(resource_type, if_none_exist)
            if found:
                return WriteResult(found[0], created=False, changed=False)
        if id is None:
            return WriteResult(self._write(resource, new_resource_id(), 1, "POST"), created=True)
        current = self.backend.locked_version(self.db, resource_type, id)
        if current is not None and not current[1]:
            raise Conflict(f"{resource_type}/{id} already exists", expression=f"{resource_type}.id")
        version = current[0] + 1 if current else 1
        return WriteResult(self._write(resource, id, version, "POST"), created=True)

    def create_many(
        self, resources: Sequence[Json], *, ids: Sequence[str] | None = None
    ) -> list[WriteResult]:
        """Create several resources with server ids in one batch insert (a few round trips
        instead of one per resource); all are validated first and :class:`Invalid` carries
        every issue. The results are in the order of ``resources``. ``ids``: ids the caller
        assigned with ``new_resource_id`` (a transaction's referenced entries), new by
        construction like server ids, so no lock or existence check either."""
        if self.hooks.before_write is not None and any(
            r.get("resourceType") == MATCHED_TYPE for r in resources
        ):
            ids = list(ids) if ids is not None else [new_resource_id() for _ in resources]
            resources = [self._before_write(r, id) for r, id in zip(resources, ids, strict=True)]
        prepared = prepare_all(resources, self.clock(), server_ids=True, ids=ids)
        rows = write_batch(
            self.backend, self.db, prepared, all_new=True, match_entry=self.hooks.match_entry
        )
        return [WriteResult(_stored(row), created=True) for row in rows]

    def update(self, resource: Json, *, if_match: int | None = None) -> WriteResult:
        """Update, or create with the client's id when absent or deleted (update-as-create)."""
        require_valid(resource)
        resource_type: str = resource["resourceType"]
        resource_id = resource.get("id")
        if not isinstance(resource_id, str):
            raise Invalid("an update needs the resource id", expression=f"{resource_type}.id")
        current = self.backend.locked_version(self.db, resource_type, resource_id)
        self._check_version(resource_type, resource_id, current, if_match)
        version = current[0] + 1 if current else 1
        stored = self._write(resource, resource_id, version, "PUT")
        return WriteResult(stored, created=current is None or current[1])

    def delete(self, resource_type: str, id: str, *, if_match: int | None = None) -> bool:
        """Write a delete marker; ``False`` (and nothing written) when already absent."""
        current = self.backend.locked_version(self.db, resource_type, id)
        self._check_version(resource_type, id, current, if_match)
        if current is None or current[1]:
            return False
        row = VersionRow(resource_type, id, current[0] + 1, self.clock(), True, "DELETE", None, b"")
        self.backend.insert_version(self.db, row)
        self.backend.replace_index_rows(self.db, resource_type, id, [])
        if resource_type == MATCHED_TYPE and self.hooks.match_entry is not None:
            write_entries(self.backend, self.db, [], [id])
        if resource_type == MATCHED_TYPE and self.hooks.after_delete is not None:
            self.hooks.after_delete(self, id)
        return True

    def conditional_update(self, resource: Json, query: SearchQuery) -> WriteResult:
        """PUT ``Type?criteria``: 0 matches create (with the body's id if any), 1 updates it
        (the body's id, if any, must be its id), more fail with 412."""
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str):
            require_valid(resource)
            raise Invalid("resourceType is missing", expression="resourceType")
        self.backend.lock(self.db, criteria_key(resource_type, query))
        found = self._matches(resource_type, query)
        if not found:
            if "id" in resource:
                return self.update(resource)
            return self.create(resource)
        match = found[0]
        if resource.get("id", match.id) != match.id:
            raise Invalid(
                f"the resource id does not match the one found ({match.id})",
                expression=f"{resource_type}.id",
            )
        return self.update({**resource, "id": match.id})

    def conditional_delete(
        self, resource_type: str, query: SearchQuery, *, multiple: bool = False
    ) -> int:
        """DELETE ``Type?criteria``: deletes the match (or every match when ``multiple``);
        returns how many were deleted. More than one match without ``multiple`` fails (412)."""
        self.backend.lock(self.db, criteria_key(resource_type, query))
        found = self._matches(resource_type, query, limit=None if multiple else 2)
        return sum(self.delete(resource_type, stored.id) for stored in found)

    def _matches(
        self, resource_type: str, query: SearchQuery, *, limit: int | None = 2
    ) -> list[StoredVersion]:
        """The current matches of conditional criteria. With ``query.reach``, only those the
        caller may see: a hidden match is treated as absent, so no answer depends on it."""
        sees = query.reach.sees if query.reach is not None else None
        size = 1000 if limit is None else SCREENED_PAGE if sees is not None else limit
        page = SearchQuery(params=query.params, count=size, reach=query.reach)
        found: list[StoredVersion] = []
        while True:
            result = self.search(resource_type, page)
            found.extend(m for m in result.matches if sees is None or sees(m))
            if limit is not None and len(found) > 1:
                raise PreconditionFailed(
                    f"the criteria match more than one {resource_type}", expression=resource_type
                )
            if result.next_cursor is None:
                return found
            page = replace(page, cursor=result.next_cursor)

    @staticmethod
    def _check_version(
        resource_type: str, id: str, current: tuple[int, bool] | None, if_match: int | None
    ) -> None:
        if if_match is None:
            return
        if current is None:
            raise PreconditionFailed(f"{resource_type}/{id} does not exist; If-Match cannot hold")
        if current[0] != if_match:
            raise PreconditionFailed(
                f"{resource_type}/{id} is at version {current[0]}, not {if_match}",
                expression=resource_type,
            )

    def _before_write(self, resource: Json, id: str) -> Json:
        hook = self.hooks.before_write
        if hook is None or resource.get("resourceType") != MATCHED_TYPE:
            return resource
        return hook(self, resource, id)

    def _write(self, resource: Json, id: str, version: int, method: str) -> StoredVersion:
        resource = self._before_write(resource, id)
        moment = self.clock()
        body = stamped_body(resource, id, version, moment)
        resource_type: str = resource["resourceType"]
        compartment = patient_compartment_key({**resource, "id": id})
        row = VersionRow(resource_type, id, version, moment, False, method, compartment, body)
        self.backend.insert_version(self.db, row)
        # A first version has no index rows to clear (a delete clears them; re-creation after a
        # delete is version 2 or later), which saves the deletes on every create.
        replaced = set() if version == 1 else {(resource_type, id)}
        entries = [(resource_type, id, extract_index_rows(resource))]
        self.backend.write_index_rows(self.db, entries, replaced)
        if resource_type == MATCHED_TYPE and self.hooks.match_entry is not None:
            entry = self.hooks.match_entry({**resource, "id": id})
            gone = [id] if version > 1 else []
            write_entries(self.backend, self.db, [(id, version, entry)], gone)
        return _stored(row)


def _stored(row: VersionRow) -> StoredVersion:
    return StoredVersion(
        row.resource_type, row.id, row.version, row.last_updated, row.deleted, row.body, row.method
    )
