"""AuditEvents in the shape of IHE Basic Audit Log Patterns (BALP), without secrets.

https://profiles.ihe.net/ITI/BALP/content.html#3573-basic-restful-interaction — type ``rest``,
subtype the RESTful interaction, the user and client as agents, the resource and the patient as
entities. Tokens, passwords and bodies never go in; a search's query string does (base64, as
BALP asks), since it names what was looked for.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from yteso.fhir.types import Json

ACTION_OF = {"create": "C", "read": "R", "vread": "R", "update": "U", "patch": "U"}
ACTION_OF |= {"delete": "D", "search-type": "E", "search-system": "E", "history": "R"}
ACTION_OF |= {"batch": "E", "transaction": "E", "operation": "E", "capabilities": "R"}
ACTION_OF |= {"login": "E", "logout": "E"}


def _outcome(status: int) -> str:
    """0 success, 4 minor failure (client error, denial), 8 serious failure (server error)."""
    return "0" if status < 400 else "4" if status < 500 else "8"


def audit_event(
    *,
    interaction: str,
    subject: str,
    client_id: str | None,
    network_address: str,
    status: int,
    what: str | None = None,
    patient: str | None = None,
    patients: tuple[str, ...] = (),  # every patient concerned (one entity each), with patient
    query: str | None = None,
    kind: str = "rest",
    break_glass: str | None = None,
) -> Json:
    """One BALP-shaped AuditEvent; ``what`` is ``Type/id`` when the interaction names one."""
    agents: list[Json] = [
        {
            "type": {"coding": [_code("v3-ParticipationType", "IRCP")]},
            "who": {"identifier": {"value": subject}},
            "requestor": True,
            "network": {"address": network_address or "unknown", "type": "2"},
        }
    ]
    if client_id and client_id != subject:
        agents.append({"who": {"identifier": {"value": client_id}}, "requestor": False})
    entities: list[Json] = []
    if what:
        entities.append({"what": {"reference": what}, "role": _code("object-role", "4")})
    if query:
        encoded = base64.b64encode(query.encode()).decode()
        entities.append({"query": encoded, "role": _code("object-role", "24")})
    for concerned in (p for p in patients if p != patient):
        entities.append(
            {"what": {"reference": f"Patient/{concerned}"}, "role": _code("object-role", "1")}
        )
    if patient:
        entities.append(
            {"what": {"reference": f"Patient/{patient}"}, "role": _code("object-role", "1")}
        )
    event: Json = {
        "resourceType": "AuditEvent",
        "type": _code("audit-event-type", kind),
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": interaction}],
        "action": ACTION_OF.get(interaction, "E"),
        "recorded": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "outcome": _outcome(status),
        "outcomeDesc": f"HTTP {status}",
        "agent": agents,
        "source": {"observer": {"display": "yteso"}, "type": [_code("security-source-type", "4")]},
    }
    if entities:
        event["entity"] = entities
    if break_glass is not None:  # emergency access: flagged for review (v3 ActReason BTG)
        coding = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG"}
        event["purposeOfEvent"] = [{"coding": [coding], "text": break_glass}]
    return event


def _code(code_system: str, code: str) -> Json:
    return {"system": f"http://terminology.hl7.org/CodeSystem/{code_system}", "code": code}


def patients_named(event: Json) -> set[str]:
    """The patient ids an AuditEvent records as its subject (for 'who accessed my record')."""
    found = set()
    for entity in event.get("entity", []):
        reference = str(entity.get("what", {}).get("reference", ""))
        if reference.startswith("Patient/"):
            found.add(reference.removeprefix("Patient/"))
    return found


def access_report(events: list[Json], patient: str) -> list[Json]:
    """For a citizen: who touched Patient/``patient``'s record (time, who, what, outcome)."""
    return [
        {
            "recorded": event.get("recorded"),
            "who": event["agent"][0]["who"]["identifier"]["value"],
            "interaction": event["subtype"][0]["code"],
            "what": next(
                (e["what"]["reference"] for e in event.get("entity", []) if "what" in e), None
            ),
            "outcome": event.get("outcome"),
        }
        for event in events
        if patient in patients_named(event)
    ]


__all__ = ["access_report", "audit_event", "patients_named"]
