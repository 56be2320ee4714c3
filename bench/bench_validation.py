"""Structural validation speed: resources/s and µs per resource against ``orjson.loads``.

    .venv/bin/python bench/bench_validation.py [--seconds 2] [--clock cpu|wall]

The baseline is parsing the same bytes with orjson in the same run; the ratio says how many
parses one validation costs. Target (issue 2): under 60 µs per ~1.5 KB Patient or Observation.
The last column is the whole write gate (structure, then FHIRPath invariants), what every write
and ``$validate`` run. ``--clock cpu`` (the default) counts this thread's CPU time, so other
processes competing for the cores do not inflate the figures; ``wall`` counts elapsed time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import orjson

from yteso.fhir.validation import validate
from yteso.store.validation_gate import rejecting, resource_issues

PATIENT = {
    "resourceType": "Patient",
    "id": "vn-000123",
    "meta": {"versionId": "1", "lastUpdated": "2024-05-01T08:30:00+07:00"},
    "text": {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml">Nguyễn Văn An, nam, 1985-04-12</div>',
    },
    "identifier": [
        {
            "use": "official",
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NI"}
                ]
            },
            "system": "http://fhir.hl7.org.vn/core/sid/cccd",
            "value": "001085012345",
        },
        {"system": "http://fhir.hl7.org.vn/core/sid/bhyt", "value": "DN4010123456789"},
    ],
    "active": True,
    "name": [
        {"use": "official", "text": "Nguyễn Văn An", "family": "Nguyễn", "given": ["Văn", "An"]}
    ],
    "telecom": [
        {"system": "phone", "value": "+84 912 345 678", "use": "mobile"},
        {"system": "email", "value": "an.nguyen@example.vn"},
    ],
    "gender": "male",
    "birthDate": "1985-04-12",
    "contact": [
        {
            "relationship": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}
                    ]
                }
            ],
            "name": {"family": "Trần", "given": ["Thị", "Bình"]},
            "telecom": [{"system": "phone", "value": "+84 987 654 321"}],
        }
    ],
    "address": [
        {
            "use": "home",
            "line": ["Số 12, ngõ 34 phố Huế"],
            "city": "Hà Nội",
            "district": "Hai Bà Trưng",
            "country": "VN",
            "extension": [
                {
                    "url": "http://fhir.hl7.org.vn/core/StructureDefinition/ward",
                    "valueCode": "00256",
                }
            ],
        }
    ],
    "maritalStatus": {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}
        ]
    },
    "communication": [
        {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "vi"}]}, "preferred": True}
    ],
    "managingOrganization": {
        "reference": "Organization/bv-bach-mai",
        "display": "Bệnh viện Bạch Mai",
    },
}

OBSERVATION = {
    "resourceType": "Observation",
    "id": "bp-20240501-1",
    "meta": {
        "versionId": "1",
        "lastUpdated": "2024-05-01T09:00:00+07:00",
        "profile": ["http://hl7.org/fhir/StructureDefinition/bp"],
    },
    "status": "final",
    "category": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "vital-signs",
                    "display": "Vital Signs",
                }
            ]
        }
    ],
    "code": {
        "coding": [
            {"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel"}
        ],
        "text": "Huyết áp",
    },
    "subject": {"reference": "Patient/vn-000123"},
    "encounter": {"reference": "Encounter/enc-1"},
    "effectiveDateTime": "2024-05-01T08:45:00+07:00",
    "issued": "2024-05-01T09:00:00.000+07:00",
    "performer": [{"reference": "Practitioner/bs-1"}],
    "note": [{"text": "Đo sau khi nghỉ 5 phút, tư thế ngồi, tay trái."}],
    "device": {"reference": "Device/omron-hem-7120"},
    "bodySite": {
        "coding": [
            {
                "system": "http://snomed.info/sct",
                "code": "368208006",
                "display": "Left upper arm structure",
            }
        ]
    },
    "method": {"text": "Máy đo huyết áp điện tử, bắp tay"},
    "interpretation": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                    "code": "N",
                }
            ]
        }
    ],
    "component": [
        {
            "code": {
                "coding": [
                    {
                        "system": "http://loinc.org",
                        "code": "8480-6",
                        "display": "Systolic blood pressure",
                    }
                ]
            },
            "valueQuantity": {
                "value": 120,
                "unit": "mmHg",
                "system": "http://unitsofmeasure.org",
                "code": "mm[Hg]",
            },
        },
        {
            "code": {
                "coding": [
                    {
                        "system": "http://loinc.org",
                        "code": "8462-4",
                        "display": "Diastolic blood pressure",
                    }
                ]
            },
            "valueQuantity": {
                "value": 80,
                "unit": "mmHg",
                "system": "http://unitsofmeasure.org",
                "code": "mm[Hg]",
            },
        },
    ],
}


def rate(
    action: Callable[[], object], seconds: float, clock: Callable[[], float], rounds: int = 5
) -> float:
    """Best calls per second of ``action`` over ``rounds`` rounds (other load only slows it)."""
    best = 0.0
    for _ in range(rounds):
        count, started = 0, clock()
        deadline = started + seconds / rounds
        while clock() < deadline:
            for _ in range(100):
                action()
            count += 100
        best = max(best, count / (clock() - started))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args()
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    for resource in (PATIENT, OBSERVATION):
        data = orjson.dumps(resource)
        assert validate(resource) == [], validate(resource)
        assert not rejecting(resource_issues(resource)), resource_issues(resource)
        parse = rate(lambda data=data: orjson.loads(data), args.seconds, clock)
        check = rate(lambda resource=resource: validate(resource), args.seconds, clock)
        gate = rate(lambda resource=resource: resource_issues(resource), args.seconds, clock)
        name = resource["resourceType"]
        print(
            f"{name:12} {len(data):5} bytes  validate {check:8,.0f}/s ({1e6 / check:5.1f} µs)"
            f"  orjson.loads {parse:8,.0f}/s ({1e6 / parse:4.1f} µs)  ratio {parse / check:4.1f}x"
            f"  write gate {1e6 / gate:6.1f} µs"
        )


if __name__ == "__main__":
    main()
