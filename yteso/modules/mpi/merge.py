"""``Patient/$merge`` in the shape of R5 (https://hl7.org/fhir/R5/patient-operation-merge.html)
and its undo. Nothing is deleted: the source becomes ``active = false`` with a ``replaced-by``
link to the target, the target gets ``replaces``; references to the source stay as they were
and are followed through the link. A ``Task`` (code ``merge``) records each merge with the
versions it changed, so ``$mpi-unmerge`` can put both records back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from yteso.fhir.errors import Invalid, Unprocessable
from yteso.fhir.types import Json
from yteso.modules.mpi.records import (
    MERGE_CODE,
    MPI_SYSTEM,
    code,
    is_managed,
    managed_link,
    merged_into,
    ref,
    ref_id,
)
from yteso.modules.mpi.registry import MpiRegistry, internal, now_text, read_patient
from yteso.store.base import SearchParam, SearchQuery, StoredVersion, StoreSession

VersionRead = Callable[[str, str, int], StoredVersion]


@dataclass(frozen=True)
class MergeResult:
    source: Json
    target: Json
    task: Json | None  # None for a preview


def _patient(session: StoreSession, patient_id: str, role: str) -> Json:
    patient = read_patient(session, patient_id)
    if patient is None:
        raise Unprocessable(f"{role}: Patient/{patient_id} is not known", expression=role)
    return patient


def _input(name: str, value: Json) -> Json:
    return {"type": code(name), **value}


def _without(links: list[Json], kind: str, other: str) -> list[Json]:
    return [
        link
        for link in links
        if not (
            is_managed(link) and link.get("type") == kind and ref_id(link.get("other")) == other
        )
    ]


def _with_links(patient: Json, links: list[Json]) -> Json:
    """``patient`` with these links (meta kept: its tags, security labels and profiles)."""
    updated = {k: v for k, v in patient.items() if k != "link"}
    if links:
        updated["link"] = links
    return updated


def merge(
    session: StoreSession,
    registry: MpiRegistry,
    source_id: str,
    target_id: str,
    result: Json | None,
    *,
    preview: bool,
    steward: str,
) -> MergeResult:
    if source_id == target_id:
        raise Unprocessable("source and target are the same Patient", expression="source-patient")
    source = _patient(session, source_id, "source-patient")
    target = _patient(session, target_id, "target-patient")
    for role, patient in (("source-patient", source), ("target-patient", target)):
        survivor = merged_into(patient)
        if survivor is not None:
            raise Unprocessable(
                f"{role}: Patient/{patient['id']} is already merged into Patient/{survivor}",
                expression=role,
            )
    if result is not None:
        if result.get("resourceType") != "Patient" or result.get("id", target_id) != target_id:
            raise Invalid(
                "result-patient must be a Patient with the target's id",
                expression="Parameters.parameter",
            )
    base = {**(result or target), "id": target_id}
    kept = [link for link in (base.get("link") or []) if not is_managed(link)]
    managed = [link for link in target.get("link") or [] if is_managed(link)]
    new_target = _with_links(base, kept + managed + [managed_link(source_id, "replaces", "merge")])
    source_links = [
        link
        for link in source.get("link") or []
        if not (is_managed(link) and link.get("type") == "seealso")
    ]
    new_source = _with_links(
        source, [*source_links, managed_link(target_id, "replaced-by", "merge")]
    )
    new_source["active"] = False
    if preview:
        return MergeResult(new_source, new_target, None)
    linked_before = registry.same_person(session, source_id, target_id)
    source_version = int((source.get("meta") or {}).get("versionId") or 0)
    target_version = int((target.get("meta") or {}).get("versionId") or 0)
    with internal():
        session.update(new_source)
        session.update(new_target)
        registry.join(session, target_id, source_id, {}, how="merge")
        registry.refresh(session, target_id, {})  # already one person: links still change
    after = _patient(session, target_id, "target-patient")
    inputs = [
        _input("source-patient", {"valueReference": ref(source_id)}),
        _input("target-patient", {"valueReference": ref(target_id)}),
        _input("source-version", {"valueInteger": source_version}),
        _input("target-version", {"valueInteger": target_version}),
        _input("result-version", {"valueInteger": int(after["meta"]["versionId"])}),
        _input("result-patient-given", {"valueBoolean": result is not None}),
        _input("linked-before", {"valueBoolean": linked_before}),
    ]
    if isinstance(source.get("active"), bool):
        inputs.append(_input("source-active", {"valueBoolean": source["active"]}))
    task: Json = {
        "resourceType": "Task",
        "status": "completed",
        "intent": "order",
        "code": code(MERGE_CODE, "Patient merge"),
        "businessStatus": code("merged"),
        "description": f"Patient/{source_id} merged into Patient/{target_id}",
        "focus": ref(source_id),
        "for": ref(target_id),
        "authoredOn": now_text(),
        "owner": {"display": steward},
        "input": inputs,
    }
    written = session.create(task).stored.resource()
    return MergeResult(_patient(session, source_id, "source-patient"), after, written)


def _merge_task(session: StoreSession, source_id: str, target_id: str) -> Json:
    query = SearchQuery(
        params=(
            SearchParam("focus", (f"Patient/{source_id}",)),
            SearchParam("code", (f"{MPI_SYSTEM}|{MERGE_CODE}",)),
            SearchParam("status", ("completed",)),
        ),
        count=100,
    )
    tasks = [m.resource() for m in session.search("Task", query).matches]
    found = [t for t in tasks if _value(t, "target-patient") == target_id]
    if not found:
        raise Unprocessable(
            f"no merge of Patient/{source_id} into Patient/{target_id} to undo",
            expression="source-patient",
        )
    return max(found, key=lambda t: str(t.get("authoredOn")))


def _value(task: Json, name: str) -> object:
    for item in task.get("input") or []:
        if any(c.get("code") == name for c in (item.get("type") or {}).get("coding") or []):
            if "valueReference" in item:
                return ref_id(item["valueReference"])
            for key in ("valueInteger", "valueBoolean"):
                if key in item:
                    return item[key]
    return None


def unmerge(
    session: StoreSession,
    registry: MpiRegistry,
    vread: VersionRead,
    source_id: str,
    target_id: str,
    steward: str,
) -> MergeResult:
    """Undo the latest merge of ``source`` into ``target``: the source is active again (as it
    was) without its ``replaced-by``, the target loses ``replaces`` and, when the merge gave a
    ``result-patient`` and the target has not changed since, gets its earlier content back."""
    task = _merge_task(session, source_id, target_id)
    source = _patient(session, source_id, "source-patient")
    target = _patient(session, target_id, "target-patient")
    new_source = _with_links(source, _without(source.get("link") or [], "replaced-by", target_id))
    previous_active = _value(task, "source-active")
    new_source.pop("active", None)
    if isinstance(previous_active, bool):
        new_source["active"] = previous_active
    base = target
    current_version = int(target["meta"]["versionId"])
    if _value(task, "result-patient-given") is True and current_version == _value(
        task, "result-version"
    ):
        earlier = _value(task, "target-version")
        if isinstance(earlier, int) and earlier > 0:
            base = {**vread("Patient", target_id, earlier).resource(), "link": target.get("link")}
    new_target = _with_links(base, _without(base.get("link") or [], "replaces", source_id))
    with internal():
        session.update(new_source)
        session.update(new_target)
        if _value(task, "linked-before") is not True:
            registry.leave(session, source_id, {})
        else:
            registry.refresh(session, source_id, {})
    undone = {k: v for k, v in task.items() if k != "meta"}
    undone["status"] = "cancelled"
    undone["businessStatus"] = code("unmerged")
    undone["lastModified"] = now_text()
    undone["note"] = [{"text": "merge undone", "authorString": steward, "time": now_text()}]
    session.update(undone)
    return MergeResult(
        _patient(session, source_id, "source-patient"),
        _patient(session, target_id, "target-patient"),
        undone,
    )


__all__ = ["MergeResult", "merge", "unmerge"]
