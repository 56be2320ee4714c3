"""Electronic medical records: a DocumentReference (the visit's record) for each Encounter at a
facility that keeps electronic records, so that the share of encounters with one can be measured.

Circular 46/2018/TT-BYT asked hospitals to adopt electronic medical records (central and
provincial hospitals first); adoption here is by facility level and date, and for regional
hospitals and commune health stations by a stable hash of the facility code. No random draw is
made, so every other resource keeps its bytes.
"""

from __future__ import annotations

import zlib
from datetime import date

from yteso.fhir.types import Json
from yteso.synth.elements import SYNTHETIC_TAG, concept, ref
from yteso.synth.facilities import Facility
from yteso.synth.people import Person

LOINC = "http://loinc.org"
#: Level -> (share of facilities with an EMR, in use from).
EMR_ADOPTION = {
    "central": (100, date(2022, 1, 1).isoformat()),
    "provincial": (100, date(2023, 7, 1).isoformat()),
    "regional": (60, date(2024, 1, 1).isoformat()),
    "station": (25, date(2025, 1, 1).isoformat()),
}
VISIT_NOTE = concept(LOINC, "34133-9", "Summary of episode note", "Bệnh án điện tử")


def emr_since(facility: Facility) -> str | None:
    """The first day the facility keeps electronic records (ISO date), None if it does not."""
    share, since = EMR_ADOPTION[facility.level]
    return since if zlib.crc32(facility.code.encode()) % 100 < share else None


def electronic_records(person: Person, records: list[Json]) -> list[Json]:
    """A DocumentReference for each Encounter in ``records`` held at an EMR facility."""
    facilities = {
        f.organization_id: f
        for f in (person.station, person.regional, person.provincial, person.central)
    }
    out = []
    for record in records:
        if record["resourceType"] != "Encounter":
            continue
        facility = facilities.get(record["serviceProvider"]["reference"].partition("/")[2])
        since = emr_since(facility) if facility else None
        end = record["period"]["end"]
        if since is None or end[:10] < since:
            continue
        out.append(
            {
                "resourceType": "DocumentReference",
                "id": f"{record['id']}-doc",
                "meta": SYNTHETIC_TAG,
                "status": "current",
                "type": VISIT_NOTE,
                "subject": record["subject"],
                "date": end,
                "custodian": record["serviceProvider"],
                "content": [
                    {
                        "attachment": {
                            "contentType": "application/pdf",
                            "url": f"Binary/{record['id']}-doc",
                            "title": "Bệnh án điện tử",
                        }
                    }
                ],
                "context": {"encounter": [ref("Encounter", record["id"])]},
            }
        )
    return out
