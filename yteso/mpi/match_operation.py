"""``Patient/$match`` without HTTP: read the Parameters, ask the index, build the searchset.

https://hl7.org/fhir/R4/patient-operation-match.html — in: ``resource`` (a Patient, required),
``onlyCertainMatches`` (boolean), ``count`` (integer); out: a Bundle of type searchset whose
entries carry ``search.score`` and the ``match-grade`` extension. The store is reached through
``read`` (candidate id -> Patient or None), which the composition root wires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.mpi.decisions import match_bundle
from yteso.mpi.match_index import MatchIndex


@dataclass(frozen=True)
class MatchRequest:
    resource: Json
    only_certain: bool = False
    count: int | None = None


def match_request(body: Json) -> MatchRequest:
    """The operation's input from a Parameters resource (or a bare Patient, leniently)."""
    if body.get("resourceType") == "Patient":
        return MatchRequest(body)
    if body.get("resourceType") != "Parameters":
        raise Invalid("$match needs a Parameters resource", expression="Parameters")
    values: dict[str, object] = {}
    for index, parameter in enumerate(body.get("parameter") or []):
        name = parameter.get("name")
        value = parameter.get(
            "resource", parameter.get("valueBoolean", parameter.get("valueInteger"))
        )
        if name in values:
            raise Invalid(
                f"$match: {name} given twice", expression=f"Parameters.parameter[{index}]"
            )
        values[str(name)] = value
    resource = values.get("resource")
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        raise Invalid(
            "$match needs a Patient in the 'resource' parameter", expression="Parameters.parameter"
        )
    only_certain = values.get("onlyCertainMatches", False)
    count = values.get("count")
    if not isinstance(only_certain, bool):
        raise Invalid("onlyCertainMatches must be a boolean", expression="Parameters.parameter")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise Invalid("count must be a positive integer", expression="Parameters.parameter")
    return MatchRequest(resource, only_certain, count)


def run_match(
    body: Json,
    index: MatchIndex,
    read: Callable[[str], Json | None],
    *,
    base_url: str = "",
) -> Json:
    """The ``$match`` response Bundle for a request body."""
    request = match_request(body)
    decision = index.match(request.resource)
    resources = {}
    for candidate in decision.candidates:
        patient = read(candidate.id)
        if patient is not None:
            resources[candidate.id] = patient
    return match_bundle(
        decision.candidates,
        resources,
        base_url=base_url,
        only_certain=request.only_certain,
        count=request.count,
    )
