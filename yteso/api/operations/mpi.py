"""The master patient index over FHIR (docs/mpi.md):

- ``Patient/$match`` — R4 (https://hl7.org/fhir/R4/patient-operation-match.html), scored
  against the store's match records;
- ``Patient/$merge`` — R5's shape (https://hl7.org/fhir/R5/patient-operation-merge.html):
  ``source-patient``, ``target-patient``, ``result-patient``, ``preview``;
- ``Patient/$mpi-unmerge`` — undo a merge (``source-patient``, ``target-patient``);
- ``Patient/$mpi-review`` — the pending pair Tasks (``_count``), best score first;
- ``Patient/$mpi-decide`` — a steward's decision: ``task`` or ``patient`` + ``other``,
  ``decision`` (``link`` | ``not-a-match``), ``comment``.

The guard asks for an unrestricted scope on Patient (no compartment, no filter): ``s`` for
``$match``, ``r`` for the review list, ``u`` for the operations that change records. Each
request is audited by the guard (an AuditEvent); the Task of each decision keeps who decided
what, and its history.
"""

from __future__ import annotations

from typing import Any

from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.operations import Operation
from yteso.fhir.errors import Gone, Invalid, NotFound
from yteso.fhir.types import Json
from yteso.modules.mpi import MpiRegistry, merge, unmerge
from yteso.modules.mpi.records import LINK, MPI_SYSTEM, NOT_A_MATCH, PAIR_CODE, ref_id
from yteso.mpi import match_bundle, match_request, patient_features
from yteso.store.base import SearchParam, SearchQuery

PATIENT = frozenset({"Patient"})
DEFINITION = "https://yteso.vn/fhir/OperationDefinition/"
MAX_REVIEW_PAGE = 500


def _parameters(body: Any, operation: str) -> dict[str, Json]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise Invalid(f"{operation} needs a Parameters resource", expression="Parameters")
    found: dict[str, Json] = {}
    for index, parameter in enumerate(body.get("parameter") or []):
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if not isinstance(name, str):
            raise Invalid("a parameter has no name", expression=f"Parameters.parameter[{index}]")
        if name in found:
            raise Invalid(f"{name} given twice", expression=f"Parameters.parameter[{index}]")
        found[name] = parameter
    return found


def _patient_id(params: dict[str, Json], name: str, *, required: bool = True) -> str | None:
    parameter = params.get(name)
    if parameter is None:
        if required:
            raise Invalid(f"{name} is required", expression=f"Parameters.parameter({name})")
        return None
    value = parameter.get("valueReference")
    patient_id = ref_id(value) if value is not None else parameter.get("valueString")
    if not isinstance(patient_id, str) or not patient_id:
        raise Invalid(
            f"{name} must be a Reference to a Patient (Patient/ID)",
            expression=f"Parameters.parameter({name})",
        )
    return patient_id


def _steward(ctx: ApiContext) -> str:
    principal = getattr(ctx.guard, "principal", None)
    subject = getattr(principal, "subject", None)
    return str(subject) if subject else "anonymous (open access)"


def _parameters_out(**values: Json) -> Json:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": name, "resource": value} for name, value in values.items()],
    }


def mpi_operations(registry: MpiRegistry) -> list[Operation]:
    def match(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
        wanted = match_request(request.body if isinstance(request.body, dict) else {})
        features = patient_features({**wanted.resource, "id": wanted.resource.get("id") or ""})
        # committed records, without the write path's key locks: $match changes nothing
        candidates = registry.matcher.candidates(features, ctx.store.match_candidates)
        resources = {}
        for candidate in candidates:
            try:
                resources[candidate.id] = ctx.read("Patient", candidate.id).resource()
            except (NotFound, Gone):  # deleted since it was scored: left out
                pass
        bundle = match_bundle(
            candidates,
            resources,
            base_url=ctx.base_url,
            only_certain=wanted.only_certain,
            count=wanted.count,
        )
        return FhirResponse(200, resource=bundle)

    def merge_patients(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
        params = _parameters(request.body, "$merge")
        source = _patient_id(params, "source-patient")
        target = _patient_id(params, "target-patient")
        assert source is not None and target is not None
        result = params.get("result-patient", {}).get("resource")
        if "result-patient" in params and not isinstance(result, dict):
            raise Invalid(
                "result-patient must carry a Patient resource",
                expression="Parameters.parameter(result-patient)",
            )
        preview = params.get("preview", {}).get("valueBoolean", False)
        if not isinstance(preview, bool):
            raise Invalid("preview must be a boolean", expression="Parameters.parameter(preview)")
        with ctx.writing() as session:
            done = merge(
                session, registry, source, target, result, preview=preview, steward=_steward(ctx)
            )
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "informational",
                    "diagnostics": (
                        f"Preview: Patient/{source} would be merged into Patient/{target}"
                        if preview
                        else f"Patient/{source} merged into Patient/{target}"
                    ),
                }
            ],
        }
        out: list[Json] = [
            {"name": "input", "resource": request.body},
            {"name": "outcome", "resource": outcome},
            {"name": "result", "resource": done.target},
        ]
        if done.task is not None:
            out.append({"name": "task", "valueReference": {"reference": f"Task/{done.task['id']}"}})
        return FhirResponse(200, resource={"resourceType": "Parameters", "parameter": out})

    def unmerge_patients(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
        params = _parameters(request.body, "$mpi-unmerge")
        source = _patient_id(params, "source-patient")
        target = _patient_id(params, "target-patient")
        assert source is not None and target is not None
        with ctx.writing() as session:
            done = unmerge(session, registry, ctx.store.vread, source, target, _steward(ctx))
        assert done.task is not None
        return FhirResponse(
            200, resource=_parameters_out(source=done.source, result=done.target, task=done.task)
        )

    def review(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
        count_text = request.param("_count") or "100"
        if not count_text.isdigit() or not 0 < int(count_text) <= MAX_REVIEW_PAGE:
            raise Invalid(f"_count must be 1..{MAX_REVIEW_PAGE}", expression="_count")
        query = SearchQuery(
            params=(
                SearchParam("code", (f"{MPI_SYSTEM}|{PAIR_CODE}",)),
                SearchParam("status", ("requested",)),
            ),
            count=MAX_REVIEW_PAGE,
        )
        search = ctx.session.search if ctx.session else ctx.store.search
        tasks = [m.resource() for m in search("Task", query).matches]
        tasks.sort(key=lambda t: (-_score(t), str(t.get("id"))))
        tasks = tasks[: int(count_text)]
        entries = [
            {
                "fullUrl": f"{ctx.base_url}/Task/{task['id']}",
                "resource": task,
                "search": {"mode": "match", "score": _score(task)},
            }
            for task in tasks
        ]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(entries)}
        bundle["entry"] = entries
        return FhirResponse(200, resource=bundle)

    def decide(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
        params = _parameters(request.body, "$mpi-decide")
        decision = params.get("decision", {}).get("valueCode")
        if decision not in (LINK, NOT_A_MATCH):
            raise Invalid(
                "decision must be the code 'link' or 'not-a-match'",
                expression="Parameters.parameter(decision)",
            )
        comment = params.get("comment", {}).get("valueString")
        with ctx.writing() as session:
            left, right = _pair(session, params)
            task = registry.decide(session, left, right, decision, _steward(ctx), comment)
        return FhirResponse(200, resource=task)

    def _pair(session: Any, params: dict[str, Json]) -> tuple[str, str]:
        if "task" in params:
            value = params["task"].get("valueReference")
            task_id = ref_id(value, "Task") if value else params["task"].get("valueString")
            if not isinstance(task_id, str):
                raise Invalid("task must be a Reference to a Task", expression="Parameters")
            task = session.read("Task", task_id).resource()
            left = ref_id(task.get("focus"))
            right = next(
                (
                    ref_id(i.get("valueReference"))
                    for i in task.get("input") or []
                    if i.get("valueReference")
                ),
                None,
            )
            if not left or not right:
                raise Invalid(f"Task/{task_id} is not an MPI pair", expression="Parameters")
            return left, right
        left = _patient_id(params, "patient")
        right = _patient_id(params, "other")
        assert left is not None and right is not None
        return left, right

    return [
        Operation(
            "match",
            "http://hl7.org/fhir/OperationDefinition/Patient-match",
            match,
            type=True,
            resource_types=PATIENT,
            unrestricted="s",
        ),
        Operation(
            "merge",
            "http://hl7.org/fhir/OperationDefinition/Patient-merge",
            merge_patients,
            type=True,
            resource_types=PATIENT,
            affects_state=True,
            unrestricted="u",
        ),
        Operation(
            "mpi-unmerge",
            DEFINITION + "Patient-mpi-unmerge",
            unmerge_patients,
            type=True,
            resource_types=PATIENT,
            affects_state=True,
            unrestricted="u",
        ),
        Operation(
            "mpi-review",
            DEFINITION + "Patient-mpi-review",
            review,
            type=True,
            resource_types=PATIENT,
            methods=frozenset({"GET", "POST"}),
            unrestricted="r",
        ),
        Operation(
            "mpi-decide",
            DEFINITION + "Patient-mpi-decide",
            decide,
            type=True,
            resource_types=PATIENT,
            affects_state=True,
            unrestricted="u",
        ),
    ]


def _score(task: Json) -> float:
    for item in task.get("input") or []:
        if any(c.get("code") == "score" for c in (item.get("type") or {}).get("coding") or []):
            value = item.get("valueDecimal")
            if isinstance(value, int | float):
                return float(value)
    return 0.0


__all__ = ["mpi_operations"]
