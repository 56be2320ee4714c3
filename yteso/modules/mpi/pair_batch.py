"""Many pair decisions in one transaction at batch speed, written by the registry's own code.

``yteso mpi link`` hands the registry thousands of pairs. Pair by pair, every decision costs
a dozen statements (the pair's Task, two ``Person?link=`` searches, the Patients, then one
write per version). :class:`PairBatch` is a :class:`~yteso.store.base.StoreSession` over one
open transaction that answers those reads from memory, after a few bulk reads of everything
the pairs can touch (:meth:`PairBatch.prefetch`), and keeps the writes until
:meth:`PairBatch.flush` writes them all with one batch insert. Reads see the batch's own
writes, as a transaction does, so ``MpiRegistry.consider`` decides exactly as it does on the
store, and every version it writes is kept (same Persons, Tasks and Patient versions).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from datetime import datetime

from yteso.fhir import json_codec
from yteso.fhir.errors import NotFound
from yteso.fhir.types import Json
from yteso.modules.mpi.records import pair_task_id, person_members, ref_id
from yteso.mpi import ScoredPair
from yteso.store.base import (
    SearchQuery,
    SearchResult,
    StoredVersion,
    StoreSession,
    WriteResult,
)
from yteso.store.meta_stamp import stamped
from yteso.store.parallel_prepare import Outcome, Prepare, PreparePool
from yteso.store.resource_ids import new_resource_id

Key = tuple[str, str]
#: Versions handed to a worker at a time (of ~8,000 a transaction of 2,000 pairs).
SUBMIT_EVERY = 500


class PairBatch:
    """The registry's reads and writes for a batch of pairs, inside ``session``'s transaction.

    Only what the registry does while it considers pairs is served: ``read``, the
    ``Person?link=Patient/ID`` search, ``create`` and ``update``; anything else raises."""

    def __init__(self, session: StoreSession, pool: PreparePool | None = None) -> None:
        self.session = session
        # With a pool, versions are validated and indexed by its workers while the registry
        # goes on deciding: a part every SUBMIT_EVERY versions, the rest at flush.
        self.pool = pool
        self._parts: list[Future[list[Outcome]]] = []
        self._sent = 0
        self.clock = session.clock
        self._current: dict[Key, StoredVersion | None] = {}  # None: known to be absent
        self._person_of: dict[str, str] = {}  # patient id -> its active golden Person
        self._members: dict[str, list[str]] = {}  # the reverse, for the Persons indexed
        self._known: set[str] = set()  # patients whose Person (or none) is in _person_of
        self._written: list[tuple[Json, datetime, str]] = []

    # -- before the pairs -------------------------------------------------------------------

    def prefetch(self, pairs: Sequence[ScoredPair]) -> None:
        """Lock and read everything ``pairs`` can touch: the two records, the pair's Task, the
        golden Persons linking the records and those Persons' other records."""
        patients = sorted({p.left for p in pairs} | {p.right for p in pairs})
        tasks = sorted({pair_task_id(p.left, p.right) for p in pairs})
        self.session.lock_many([f"Patient/{i}" for i in patients] + [f"Task/{i}" for i in tasks])
        self._load("Task", tasks)
        person_ids = self._persons_linking(patients)
        self.session.lock_many([f"Person/{i}" for i in person_ids])
        self._load("Person", person_ids)  # read once locked: the versions this batch updates
        members: set[str] = set()
        for person_id in person_ids:
            person = self._resource("Person", person_id)
            if person is not None and person.get("active") is not False:
                members.update(person_members(person))
                self._index_person(person_id, person)
        others = sorted(members - set(patients))
        self.session.lock_many([f"Patient/{i}" for i in others])
        self._load("Patient", patients + others)
        self._known.update(patients, members)

    def _persons_linking(self, patients: list[str]) -> list[str]:
        return sorted(self.session.referencing("Person", "link", "Patient", patients))

    def _load(self, resource_type: str, ids: Sequence[str]) -> None:
        stored = self.session.read_many(resource_type, ids)
        for id in ids:
            self._current[(resource_type, id)] = stored.get(id)

    # -- what the registry calls --------------------------------------------------------------

    def read(self, resource_type: str, id: str) -> StoredVersion:
        key = (resource_type, id)
        if key not in self._current:  # outside the prefetch (not expected): one read
            self._load(resource_type, [id])
        stored = self._current[key]
        if stored is None:
            raise NotFound(f"{resource_type}/{id} is not known", expression=resource_type)
        return stored

    def search(self, resource_type: str | None, query: SearchQuery) -> SearchResult:
        """``Person?link=Patient/ID`` (``MpiRegistry.person_of``): the active Person linking
        the record, from memory once the record is known."""
        param = query.params[0] if len(query.params) == 1 else None
        if resource_type != "Person" or param is None or param.name != "link":
            raise NotImplementedError("a pair batch answers only Person?link=Patient/ID")
        patient_ids = [ref_id({"reference": value}) for value in param.values]
        if len(patient_ids) != 1 or patient_ids[0] is None:
            raise NotImplementedError("a pair batch answers only Person?link=Patient/ID")
        patient_id = patient_ids[0]
        if patient_id not in self._known:  # outside the prefetch (not expected): search
            for stored in self.session.search(resource_type, query).matches:
                key = ("Person", stored.id)
                self._current.setdefault(key, stored)
                person = self._resource("Person", stored.id)
                if person is not None and person.get("active") is not False:
                    self._index_person(stored.id, person)
            self._known.add(patient_id)
        person_id = self._person_of.get(patient_id)
        return SearchResult(matches=[self.read("Person", person_id)] if person_id else [])

    def create(
        self, resource: Json, *, id: str | None = None, if_none_exist: SearchQuery | None = None
    ) -> WriteResult:
        if if_none_exist is not None:
            raise NotImplementedError("a pair batch does not create conditionally")
        stored = self._put(resource, id or new_resource_id(), "POST")
        return WriteResult(stored, created=True)

    def update(self, resource: Json, *, if_match: int | None = None) -> WriteResult:
        if if_match is not None:
            raise NotImplementedError("a pair batch does not update conditionally")
        resource_id = resource.get("id")
        if not isinstance(resource_id, str):
            raise ValueError("an update needs the resource id")
        key = (str(resource["resourceType"]), resource_id)
        if key not in self._current:
            self._load(key[0], [resource_id])
        created = self._current[key] is None
        return WriteResult(self._put(resource, resource_id, "PUT"), created=created)

    def _put(self, resource: Json, id: str, method: str) -> StoredVersion:
        resource_type = str(resource["resourceType"])
        before = self._current.get((resource_type, id))
        version = before.version + 1 if before is not None else 1
        moment = self.clock()
        body = stamped(resource, id, version, moment)
        self._written.append((body, moment, method))
        if self.pool is not None and len(self._written) - self._sent >= SUBMIT_EVERY:
            self._send()
        stored = StoredVersion(
            resource_type, id, version, moment, False, json_codec.dumps(body), method
        )
        self._current[(resource_type, id)] = stored
        if resource_type == "Person":
            self._reindex_person(id, body)
        return stored

    # -- the Person index ---------------------------------------------------------------------

    def _index_person(self, person_id: str, person: Json) -> None:
        members = person_members(person)
        self._members[person_id] = members
        for member in members:
            self._person_of[member] = person_id
            self._known.add(member)

    def _reindex_person(self, person_id: str, person: Json) -> None:
        for member in self._members.pop(person_id, []):
            if self._person_of.get(member) == person_id:
                del self._person_of[member]
        if person.get("active") is not False:
            self._index_person(person_id, person)

    def _resource(self, resource_type: str, id: str) -> Json | None:
        stored = self._current.get((resource_type, id))
        return stored.resource() if stored is not None else None

    # -- after the pairs ------------------------------------------------------------------------

    def flush(self) -> int:
        """Write every version the batch made (a Patient updated twice gets two versions, as
        pair by pair); returns how many. Match records are left alone: the registry changes
        only a Patient's links, which no match record holds."""
        prepare: Prepare | None = None
        if self.pool is not None:
            self._send()
            parts, self._parts = self._parts, []
            prepare = lambda versions: [o for part in parts for o in part.result()]  # noqa: E731
        written = self.session.write_versions(self._written, match_records=False, prepare=prepare)
        self._written, self._sent = [], 0
        return len(written)

    def _send(self) -> None:
        assert self.pool is not None
        part = self._written[self._sent :]
        if part:
            self._parts.append(self.pool.submit(part))
            self._sent = len(self._written)

    # -- the rest of StoreSession: not used while pairs are considered -----------------------

    def create_many(
        self, resources: Sequence[Json], *, ids: Sequence[str] | None = None
    ) -> list[WriteResult]:
        raise NotImplementedError("not part of a pair batch")

    def delete(self, resource_type: str, id: str, *, if_match: int | None = None) -> bool:
        raise NotImplementedError("not part of a pair batch")

    def read_many(self, resource_type: str, ids: Sequence[str]) -> dict[str, StoredVersion]:
        raise NotImplementedError("not part of a pair batch")

    def lock_many(self, keys: Sequence[str]) -> None:
        raise NotImplementedError("not part of a pair batch")

    def referencing(
        self, resource_type: str, param: str, target_type: str, ids: Sequence[str]
    ) -> set[str]:
        raise NotImplementedError("not part of a pair batch")

    def write_versions(
        self,
        versions: Sequence[tuple[Json, datetime, str]],
        *,
        match_records: bool = True,
        prepare: Prepare | None = None,
    ) -> list[StoredVersion]:
        raise NotImplementedError("not part of a pair batch")

    def conditional_update(self, resource: Json, query: SearchQuery) -> WriteResult:
        raise NotImplementedError("not part of a pair batch")

    def conditional_delete(
        self, resource_type: str, query: SearchQuery, *, multiple: bool = False
    ) -> int:
        raise NotImplementedError("not part of a pair batch")

    def match_candidates(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        raise NotImplementedError("not part of a pair batch")


__all__ = ["PairBatch"]
