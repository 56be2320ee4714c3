"""Tiny hand-written data sets whose indicator values are worked out by hand in the tests."""

from __future__ import annotations

import zlib
from typing import Any

from yteso.fhir.vn_core import CCCD_SYSTEM, WARD_CODE_SYSTEM, WARD_EXTENSION_URL

Json = dict[str, Any]
CVX = "http://hl7.org/fhir/sid/cvx"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ATC = "http://www.whocc.no/atc"


def cccd(pid: str, born: str, sex: str, serial: int | None) -> str:
    """A well-formed citizen ID: Hà Nội, century and sex digit, birth year, serial."""
    year = int(born[:4])
    century = (year // 100 - 19) * 2 + (sex == "female")
    number = serial if serial is not None else zlib.crc32(pid.encode()) % 10**6
    return f"001{century}{year % 100:02d}{number:06d}"


def patient(
    pid: str,
    born: str,
    sex: str,
    province: str = "Hà Nội",
    ward: str = "00004",
    org: str = "org-1",
    died: str | None = None,
    serial: int | None = None,
) -> Json:
    resource: Json = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": CCCD_SYSTEM, "value": cccd(pid, born, sex, serial)}],
        "gender": sex,
        "birthDate": born,
        "address": [
            {
                "extension": [
                    {
                        "url": WARD_EXTENSION_URL,
                        "valueCoding": {"system": WARD_CODE_SYSTEM, "code": ward},
                    }
                ],
                "state": province,
            }
        ],
        "managingOrganization": {"reference": f"Organization/{org}"},
    }
    if died:
        resource["deceasedDateTime"] = died
    return resource


def dose(iid: str, pid: str, cvx: str, number: int, when: str, status: str = "completed") -> Json:
    return {
        "resourceType": "Immunization",
        "id": iid,
        "status": status,
        "vaccineCode": {"coding": [{"system": CVX, "code": cvx}]},
        "patient": {"reference": f"Patient/{pid}"},
        "occurrenceDateTime": when,
        "recorded": when,
        "protocolApplied": [{"doseNumberPositiveInt": number}],
    }


def condition(
    cid: str,
    pid: str,
    code: str,
    recorded: str,
    clinical: str = "active",
    verification: str = "confirmed",
    onset: str | None = None,
) -> Json:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {"coding": [{"code": clinical}]},
        "verificationStatus": {"coding": [{"code": verification}]},
        "code": {"coding": [{"system": ICD10, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset or recorded,
        "recordedDate": recorded,
    }


def prescription(mid: str, pid: str, atc: str, status: str, authored: str) -> Json:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": authored,
    }


def encounter(
    eid: str, pid: str, klass: str, start: str, org: str, status: str = "finished"
) -> Json:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": start, "end": start},
        "serviceProvider": {"reference": f"Organization/{org}"},
    }


def document(did: str, pid: str, eid: str, status: str = "current") -> Json:
    return {
        "resourceType": "DocumentReference",
        "id": did,
        "status": status,
        "subject": {"reference": f"Patient/{pid}"},
        "content": [{"attachment": {"contentType": "application/pdf", "url": f"Binary/{did}"}}],
        "context": {"encounter": [{"reference": f"Encounter/{eid}"}]},
    }


def coverage_set() -> list[Json]:
    """DTP3: turned one in January 2025: a (3 doses, female) and b (2 doses, male); in February:
    c (3rd dose after the birthday, male), e (3rd dose entered in error, female, Huế); d died
    as an infant (not a surviving infant). Measles: a (at 9 months) and c (at 10 months)."""
    return [
        patient("pat-a", "2024-01-15", "female"),
        patient("pat-b", "2024-01-20", "male"),
        patient("pat-c", "2024-02-10", "male", province="Huế", org="org-2"),
        patient("pat-d", "2024-02-11", "female", died="2024-06-01T10:00:00+07:00"),
        patient("pat-e", "2024-02-12", "female", province="Huế", org="org-2"),
        dose("i-a1", "pat-a", "102", 1, "2024-03-15T08:00:00+07:00"),
        dose("i-a2", "pat-a", "102", 2, "2024-04-15T08:00:00+07:00"),
        dose("i-a3", "pat-a", "102", 3, "2024-05-20T08:00:00+07:00"),
        dose("i-am", "pat-a", "05", 1, "2024-10-16T08:00:00+07:00"),
        dose("i-b1", "pat-b", "102", 1, "2024-03-20T08:00:00+07:00"),
        dose("i-b2", "pat-b", "102", 2, "2024-04-20T08:00:00+07:00"),
        dose("i-c3", "pat-c", "102", 3, "2025-03-01T08:00:00+07:00"),
        dose("i-cm", "pat-c", "05", 1, "2024-12-10T08:00:00+07:00"),
        dose("i-d3", "pat-d", "102", 3, "2024-05-11T08:00:00+07:00"),
        dose("i-e3", "pat-e", "102", 3, "2024-06-12T08:00:00+07:00", status="entered-in-error"),
    ]


def treatment_set() -> list[Json]:
    """Hypertension diagnosed in March 2025: f (active amlodipine; a second diagnosis in May
    does not count twice) and g (prescription completed); h's diagnosis was refuted.
    Diabetes: g, diagnosed in May 2025 with active metformin."""
    return [
        patient("pat-f", "1960-05-01", "male"),
        patient("pat-g", "1955-07-01", "female"),
        patient("pat-h", "1970-01-01", "male"),
        condition("c-f1", "pat-f", "I10", "2025-03-05T09:00:00+07:00"),
        condition("c-f2", "pat-f", "I10", "2025-05-01T09:00:00+07:00"),
        condition("c-g1", "pat-g", "I10", "2025-03-20T09:00:00+07:00"),
        condition("c-g2", "pat-g", "E11.9", "2025-05-02T09:00:00+07:00"),
        condition("c-h1", "pat-h", "I10", "2025-03-07T09:00:00+07:00", verification="refuted"),
        prescription("m-f", "pat-f", "C08CA01", "active", "2025-06-01"),
        prescription("m-g", "pat-g", "C09CA01", "completed", "2025-04-01"),
        prescription("m-g2", "pat-g", "A10BA02", "active", "2025-05-02"),
        prescription("m-h", "pat-h", "C08CA01", "active", "2025-03-07"),
    ]


def encounter_set() -> list[Json]:
    """January 2025: org-1 had e1 (with a current record) and e2 (virtual, no record); org-2
    had e3 (its record superseded) and e4 (cancelled: not counted)."""
    return [
        patient("pat-a", "1990-01-01", "female"),
        encounter("e1", "pat-a", "AMB", "2025-01-10T08:00:00+07:00", "org-1"),
        encounter("e2", "pat-a", "VR", "2025-01-11T08:00:00+07:00", "org-1"),
        encounter("e3", "pat-a", "AMB", "2025-01-12T08:00:00+07:00", "org-2"),
        encounter("e4", "pat-a", "AMB", "2025-01-13T08:00:00+07:00", "org-2", status="cancelled"),
        document("d1", "pat-a", "e1"),
        document("d3", "pat-a", "e3", status="superseded"),
    ]


def notifiable_set() -> list[Json]:
    """Four residents alive through January 2025 (and one who died in 2024): dengue (A90) in
    week 2 and measles (B05.9) in week 2, dengue (A91) in week 4; a cold (J06.9) is not
    notifiable."""
    return [
        patient("pat-a", "1990-01-01", "female"),
        patient("pat-b", "2015-06-01", "male"),
        patient("pat-c", "1980-03-01", "male", province="Huế", org="org-2"),
        patient("pat-d", "1950-01-01", "female", died="2024-05-01T00:00:00+07:00"),
        patient("pat-e", "2000-01-01", "female", province="Huế", org="org-2"),
        condition("n1", "pat-a", "A90", "2025-01-08T10:00:00+07:00", onset="2025-01-07"),
        condition("n2", "pat-b", "B05.9", "2025-01-09T10:00:00+07:00", onset="2025-01-08"),
        condition("n3", "pat-c", "J06.9", "2025-01-09T10:00:00+07:00", onset="2025-01-08"),
        condition("n4", "pat-c", "A91", "2025-01-21T10:00:00+07:00", onset="2025-01-20"),
    ]
