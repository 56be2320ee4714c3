"""The client registry at work: every Patient write is matched inside its own transaction and
auto-linked, queued for review or left unique; stewards decide pairs; links show in FHIR.

State lives in FHIR resources written through the same store session (so it is versioned,
searchable and commits or rolls back with the write that caused it):
- ``Patient.link`` ``seealso`` between the records of one person (managed links only);
- a golden ``Person`` per person with two or more records (``Person.link.target``);
- one ``Task`` per pair that was auto-linked, queued or decided (id from the pair), whose
  ``businessStatus`` is the decision; a ``not-a-match`` Task stops later writes re-linking.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from yteso.fhir.errors import Conflict, Gone, NotFound
from yteso.fhir.types import Json
from yteso.fhir.vn_identifiers import valid_cccd
from yteso.modules.mpi.records import (
    LINK,
    NOT_A_MATCH,
    PAIR_CODE,
    code,
    golden_person,
    merged_into,
    pair_task_id,
    person_assurance,
    person_members,
    ref,
    ref_id,
    with_seealso,
)
from yteso.mpi import Candidate, Grade, patient_features
from yteso.mpi.stored_matching import StoredMatcher, evidence, match_entry
from yteso.store.base import SearchParam, SearchQuery, StoreSession
from yteso.store.match_records import StoreHooks

#: Set while the registry itself writes: its own Patient updates are not matched again.
_INTERNAL: ContextVar[bool] = ContextVar("mpi_internal", default=False)
AUTOMATIC = "yteso-mpi (automatic)"


@contextmanager
def internal() -> Iterator[None]:
    token = _INTERNAL.set(True)
    try:
        yield
    finally:
        _INTERNAL.reset(token)


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_patient(session: StoreSession, patient_id: str) -> Json | None:
    try:
        return session.read("Patient", patient_id).resource()
    except (NotFound, Gone):
        return None


def read_task(session: StoreSession, task_id: str) -> Json | None:
    try:
        return session.read("Task", task_id).resource()
    except (NotFound, Gone):
        return None


def decision_of(task: Json | None) -> str | None:
    """``link`` / ``not-a-match`` for a decided pair Task, ``pending`` for a queued one."""
    if task is None:
        return None
    if task.get("status") == "requested":
        return "pending"
    for coding in (task.get("businessStatus") or {}).get("coding") or []:
        if coding.get("code") in (LINK, NOT_A_MATCH):
            return str(coding["code"])
    return None


class MpiRegistry:
    def __init__(self, matcher: StoredMatcher) -> None:
        self.matcher = matcher

    def hooks(self) -> StoreHooks:
        return StoreHooks(
            match_entry=match_entry, before_write=self.before_write, after_delete=self.after_delete
        )

    def after_delete(self, session: StoreSession, patient_id: str) -> None:
        """A deleted record leaves its person: the golden record and the other records' links
        no longer name it (its own versions keep theirs)."""
        if _INTERNAL.get():
            return
        with internal():
            self.leave(session, patient_id, {})

    # -- real time ----------------------------------------------------------------------------

    def before_write(self, session: StoreSession, resource: Json, patient_id: str) -> Json:
        """Match an incoming Patient; returns it with the managed links of its person."""
        if _INTERNAL.get():
            return resource
        patient = {**resource, "id": patient_id}
        if match_entry(patient) is None:
            return resource  # merged into another record: the survivor is matched
        with internal():
            incoming = {patient_id: patient}
            decision = self.matcher.decide(patient, session.match_candidates)
            for candidate in decision.candidates:
                self.consider(session, patient_id, candidate, incoming)
            self.refresh(session, patient_id, incoming)
            return {k: v for k, v in incoming[patient_id].items() if k != "id" or "id" in resource}

    def consider(
        self,
        session: StoreSession,
        patient_id: str,
        candidate: Candidate,
        incoming: dict[str, Json],
    ) -> None:
        task = read_task(session, pair_task_id(patient_id, candidate.id))
        decided = decision_of(task)
        if decided == NOT_A_MATCH:
            return  # a steward said no: it sticks
        sure = candidate.grade in (Grade.CERTAIN, Grade.PROBABLE) or decided == LINK
        if sure and self.join(session, patient_id, candidate.id, incoming, how="auto"):
            if task is None or decided == "pending":  # a queued pair now scores high enough
                self.write_pair_task(session, patient_id, candidate, incoming, LINK, AUTOMATIC)
            return
        if task is None and not self.same_person(session, patient_id, candidate.id):
            self.write_pair_task(session, patient_id, candidate, incoming, None, None)

    # -- persons ------------------------------------------------------------------------------

    def person_of(self, session: StoreSession, patient_id: str) -> Json | None:
        """The active golden Person linking ``patient_id``, if the record is linked at all."""
        query = SearchQuery(params=(SearchParam("link", (f"Patient/{patient_id}",)),), count=20)
        for stored in session.search("Person", query).matches:
            person = stored.resource()
            if person.get("active") is not False and patient_id in person_members(person):
                return person
        return None

    def members(self, session: StoreSession, patient_id: str) -> list[str]:
        person = self.person_of(session, patient_id)
        return person_members(person) if person else [patient_id]

    def same_person(self, session: StoreSession, left: str, right: str) -> bool:
        person = self.person_of(session, left)
        return person is not None and right in person_members(person)

    def join(
        self,
        session: StoreSession,
        left: str,
        right: str,
        incoming: dict[str, Json],
        *,
        how: str,
    ) -> bool:
        """Put two records (and the records already linked to them) in one person; False when
        that would join two different valid CCCDs (nothing written then)."""
        first, second = self.person_of(session, left), self.person_of(session, right)
        if first is not None and second is not None and first.get("id") == second.get("id"):
            return True
        ids = list(
            dict.fromkeys(
                (person_members(first) if first else [left])
                + (person_members(second) if second else [right])
            )
        )
        patients = {i: incoming.get(i) or read_patient(session, i) for i in ids}
        records = {i: p for i, p in patients.items() if p is not None}
        cccds = {valid_cccd(p) for p in records.values() if merged_into(p) is None} - {None}
        if len(cccds) > 1:
            return False
        assurance = {
            **(person_assurance(second) if second else {}),
            **(person_assurance(first) if first else {}),
        }
        level = "level4" if how in ("steward", "merge") else "level3"
        for patient_id in (left, right):
            if how != "auto" or patient_id not in assurance:
                assurance[patient_id] = level
        keep = first or second
        self._write_person(session, keep, records, assurance)
        if first is not None and second is not None:  # two persons become one: retire one
            retired = {k: v for k, v in second.items() if k != "link"}
            retired["active"] = False
            retired["link"] = [{"target": {"reference": f"Person/{first['id']}"}}]
            session.update(retired)
        self._mesh(session, records, incoming, how)
        return True

    def leave(self, session: StoreSession, patient_id: str, incoming: dict[str, Json]) -> None:
        """Take one record out of its person (a steward's not-a-match, an unmerge)."""
        person = self.person_of(session, patient_id)
        if person is None:
            return
        rest = [i for i in person_members(person) if i != patient_id]
        records = {i: p for i in rest if (p := incoming.get(i) or read_patient(session, i))}
        assurance = {k: v for k, v in person_assurance(person).items() if k != patient_id}
        self._write_person(session, person, records, assurance)
        self._mesh(session, records, incoming, "steward")
        alone = incoming.get(patient_id) or read_patient(session, patient_id)
        if alone is not None:
            self._mesh(session, {patient_id: alone}, incoming, "steward")

    def refresh(self, session: StoreSession, patient_id: str, incoming: dict[str, Json]) -> None:
        """After a member changed: its person's golden record and the managed links."""
        person = self.person_of(session, patient_id)
        ids = person_members(person) if person else [patient_id]
        records = {i: p for i in ids if (p := incoming.get(i) or read_patient(session, i))}
        if person is not None:
            self._write_person(session, person, records, person_assurance(person))
        self._mesh(session, records, incoming, "auto")

    def _write_person(
        self,
        session: StoreSession,
        person: Json | None,
        records: dict[str, Json],
        assurance: dict[str, str],
    ) -> None:
        golden = golden_person(person.get("id") if person else None, records, assurance)
        if person is None:
            session.create(golden)
        elif _content(golden) != _content(person):
            session.update(golden)

    def _mesh(
        self,
        session: StoreSession,
        records: dict[str, Json],
        incoming: dict[str, Json],
        how: str,
    ) -> None:
        """Each live record of a person names every other one with a managed ``seealso``; a
        record merged into another names only its survivor (``replaced-by``)."""
        live = {i for i, p in records.items() if merged_into(p) is None}
        for patient_id, patient in records.items():
            others = live - {patient_id} if patient_id in live else set()
            updated = with_seealso(patient, others, {o: how for o in others})
            if patient_id in incoming:
                incoming[patient_id] = updated
            elif updated.get("link") != patient.get("link"):
                session.update(updated)

    # -- pair decisions ------------------------------------------------------------------------

    def write_pair_task(
        self,
        session: StoreSession,
        patient_id: str,
        candidate: Candidate,
        incoming: dict[str, Json],
        decision: str | None,
        decided_by: str | None,
    ) -> Json:
        task = self.pair_task(session, patient_id, candidate, incoming)
        if decision is not None:
            task = decided_task(task, decision, decided_by or AUTOMATIC, None)
        session.update(task)
        return task

    def pair_task(
        self,
        session: StoreSession,
        patient_id: str,
        candidate: Candidate,
        incoming: dict[str, Json],
    ) -> Json:
        """A pending review Task for a pair: the score, the grade and the evidence."""
        inputs: list[Json] = [
            {"type": code("candidate"), "valueReference": ref(candidate.id)},
            {"type": code("score"), "valueDecimal": round(candidate.probability, 6)},
            {"type": code("match-grade"), "valueCode": candidate.grade.value},
            {"type": code("rule"), "valueCode": candidate.rule},
        ]
        left = incoming.get(patient_id) or read_patient(session, patient_id)
        right = incoming.get(candidate.id) or read_patient(session, candidate.id)
        if left is not None and right is not None and candidate.rule == "model":
            inputs.append(
                {"type": code("match-weight"), "valueDecimal": round(candidate.match_weight, 3)}
            )
            for item in evidence(
                self.matcher.model, patient_features(left), patient_features(right)
            ):
                inputs.append(
                    {
                        "type": {**code("evidence"), "text": item.comparison},
                        "valueString": f"{item.level} ({item.weight:+.2f} bits)",
                    }
                )
        return {
            "resourceType": "Task",
            "id": pair_task_id(patient_id, candidate.id),
            "status": "requested",
            "intent": "proposal",
            "code": code(PAIR_CODE, "MPI pair decision"),
            "description": f"Are Patient/{patient_id} and Patient/{candidate.id} one person?",
            "focus": ref(patient_id),
            "for": ref(patient_id),
            "authoredOn": now_text(),
            "input": inputs,
        }

    def decide(
        self,
        session: StoreSession,
        left: str,
        right: str,
        decision: str,
        steward: str,
        comment: str | None,
    ) -> Json:
        """A steward's decision on a pair (a queued one or any other): ``link`` joins the two
        persons, ``not-a-match`` takes ``left`` out of a shared person and stops re-linking.
        Deciding again with the other answer reverses it (the Task keeps every version)."""
        if left == right:
            raise Conflict(
                "a record cannot be paired with itself", expression="Parameters.parameter"
            )
        for patient_id in (left, right):
            if read_patient(session, patient_id) is None:
                raise NotFound(f"Patient/{patient_id} is not known")
        task = read_task(session, pair_task_id(left, right))
        if task is None:
            left_patient = read_patient(session, left)
            assert left_patient is not None
            found = self.matcher.candidates(
                patient_features(left_patient), session.match_candidates
            )
            scored = next((c for c in found if c.id == right), None)
            candidate = scored or Candidate(right, 0.0, 0.0, Grade.CERTAINLY_NOT, "steward")
            task = self.pair_task(session, left, candidate, {})
        else:
            focus = ref_id(task.get("focus"))  # the Task's focus (the newer record) leaves
            if focus == right:
                left, right = right, left
        with internal():
            if decision == LINK:
                if not self.join(session, left, right, {}, how="steward"):
                    raise Conflict(
                        f"Patient/{left} and Patient/{right} belong to people with different "
                        "valid CCCDs; they cannot be linked",
                        expression="Parameters.parameter",
                    )
            elif self.same_person(session, left, right):
                self.leave(session, left, {})
        task = decided_task(task, decision, steward, comment)
        session.update(task)
        return task


def decided_task(task: Json, decision: str, decided_by: str, comment: str | None) -> Json:
    decided = {k: v for k, v in task.items() if k not in ("meta", "note", "output", "owner")}
    decided["status"] = "completed"
    decided["businessStatus"] = code(decision)
    decided["lastModified"] = now_text()
    decided["owner"] = {"display": decided_by}
    decided["output"] = [{"type": code("decision"), "valueCode": decision}]
    if comment:
        decided["note"] = [{"text": comment, "authorString": decided_by, "time": now_text()}]
    return decided


def _content(resource: Json) -> Json:
    return {k: v for k, v in resource.items() if k != "meta"}


__all__ = ["AUTOMATIC", "MpiRegistry", "decided_task", "decision_of", "internal", "read_patient"]
