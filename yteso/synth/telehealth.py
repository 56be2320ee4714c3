"""Telehealth follow-ups: Appointments with a hospital doctor for people with chronic disease,
and a virtual Encounter for each one that took place (Circular 30/2025-style remote care is not
modelled in detail). About a third of diagnosed patients with a phone use it, from 2024 on;
some have a booked appointment in the weeks after the end of the period.
"""

from __future__ import annotations

from datetime import date
from random import Random

from yteso.fhir.types import Json
from yteso.synth.acute import poisson
from yteso.synth.clinical import Visit, encounter
from yteso.synth.elements import SYNTHETIC_TAG, concept, instant, ref
from yteso.synth.people import Person

TELEHEALTH_FROM = date(2024, 1, 1).toordinal()
USER_SHARE = 0.35
SERVICE_TYPE = [{"text": "Tư vấn, khám bệnh từ xa"}]
FOLLOW_UP = concept(
    "http://terminology.hl7.org/CodeSystem/v2-0276", "FOLLOWUP", "A follow up visit"
)


def telehealth(person: Person, rng: Random, condition_ids: list[str], as_of: int) -> list[Json]:
    if not condition_ids or person.phone is None or rng.random() >= USER_SHARE:
        return []
    first = max(TELEHEALTH_FROM, person.birth)
    out: list[Json] = []
    days = sorted(first + int(rng.random() * (as_of - first)) for _ in range(poisson(rng, 2.0)))
    for ordinal in days:
        if person.alive_on(ordinal):
            roll = rng.random()
            status = "fulfilled" if roll < 0.85 else "noshow" if roll < 0.9 else "cancelled"
            out.extend(_appointment(person, rng, condition_ids, ordinal, status))
    if person.death is None and rng.random() < 0.5:
        out.extend(
            _appointment(person, rng, condition_ids, as_of + 1 + int(rng.random() * 30), "booked")
        )
    return out


def _appointment(
    person: Person, rng: Random, condition_ids: list[str], ordinal: int, status: str
) -> list[Json]:
    hospital = person.regional if rng.random() < 0.7 else person.provincial
    practitioner = hospital.practitioner_id(1 + int(rng.random() * hospital.staff))
    minute = 8 * 60 + 15 * int(rng.random() * 32)
    appointment_id = person.next_id("appt")
    participant_status = "declined" if status == "cancelled" else "accepted"
    appointment: Json = {
        "resourceType": "Appointment",
        "id": appointment_id,
        "meta": SYNTHETIC_TAG,
        "status": status,
        "serviceType": SERVICE_TYPE,
        "appointmentType": FOLLOW_UP,
        "reasonReference": [ref("Condition", cid) for cid in condition_ids],
        "start": instant(ordinal, minute),
        "end": instant(ordinal, minute + 15),
        "minutesDuration": 15,
        "created": instant(ordinal - 3 - int(rng.random() * 10), 600),
        "participant": [
            {
                "actor": ref("Patient", person.id),
                "required": "required",
                "status": participant_status,
            },
            {
                "actor": ref("Practitioner", practitioner),
                "required": "required",
                "status": "accepted",
            },
        ],
    }
    if status != "fulfilled":
        return [appointment]
    visit = Visit(person.next_id("enc"), person, hospital, practitioner, ordinal, minute)
    virtual = encounter(visit, "VR", "Khám bệnh từ xa (telehealth)", minutes=15)
    virtual["appointment"] = [ref("Appointment", appointment_id)]
    return [appointment, virtual]
