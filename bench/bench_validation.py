"""Structural validation speed: resources/s and µs per resource against ``orjson.loads``.

    .venv/bin/python bench/bench_validation.py [--seconds 2] [--clock cpu|wall]

The baseline is parsing the same bytes with orjson in the same run; the ratio says how many
parses one validation costs. Target (issue 2): under 60 µs per ~1.5 KB Patient or Observation.
The last column is the whole write gate (structure, then FHIRPath invariants), what every write
and ``$validate`` run. ``--clock cpu`` (the default) counts this thread's CPU time, so other
processes competing for the cores do not inflate the figures; ``wall`` counts elapsed time.

Then CPU µs per resource of each part of the write gate, as the gate runs them (invariants told
that the structure had no error), on bench_load's generated data (2,000 resources) and on the
Synthea samples in ../shared/data/synthea (3,000 resources, when present): structure,
invariants, the whole gate, and ``orjson.loads`` of the same resources as the baseline.
"""

from __future__ import annotations

import argparse
import inspect
import random
import time
from collections.abc import Callable
from pathlib import Path

import bench_load
import orjson

from yteso.fhir.types import Json
from yteso.fhir.validation import validate
from yteso.fhirpath.invariants import check_invariants
from yteso.store.validation_gate import rejecting, resource_issues

SYNTHEA = Path(__file__).resolve().parents[2] / "shared" / "data" / "synthea"

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


def load_data(count: int = 2000) -> list[Json]:
    """bench_load's resources: per patient a Patient, an Encounter, 5 Observations, a Condition."""
    rng, found, n = random.Random(7), [], 0
    while len(found) < count:
        subject, enc = f"Patient/pat-{n}", f"Encounter/enc-{n}"
        found += [bench_load.patient(rng, n), bench_load.encounter(rng, n, subject)]
        found += [bench_load.observation(rng, n * 5 + k, subject, enc) for k in range(5)]
        found.append(bench_load.condition(rng, n, subject, enc))
        n += 1
    return found[:count]


def synthea_data(count: int = 3000) -> list[Json]:
    found: list[Json] = []
    for path in sorted(SYNTHEA.rglob("*.json")) if SYNTHEA.exists() else []:
        bundle = orjson.loads(path.read_bytes())
        if bundle.get("resourceType") == "Bundle":
            found += [e["resource"] for e in bundle.get("entry", []) if "resource" in e]
        if len(found) >= count:
            break
    return found[:count]


def per_resource(
    action: Callable[[Json], object], data: list[Json], clock: Callable[[], float]
) -> float:
    """Best of 3 passes over ``data``: µs of ``clock`` per resource."""
    best = float("inf")
    for _ in range(3):
        started = clock()
        for resource in data:
            action(resource)
        best = min(best, clock() - started)
    return best / len(data) * 1e6


def gate_invariants(resource: Json) -> object:
    """The invariants as the gate runs them (builds before ``well_formed``: the plain call)."""
    if "well_formed" in inspect.signature(check_invariants).parameters:
        return check_invariants(resource, well_formed=True)
    return check_invariants(resource)


def gate_parts(clock: Callable[[], float]) -> None:
    for name, data in (("bench_load", load_data()), ("Synthea", synthea_data())):
        if not data:
            continue
        rejected = sum(bool(rejecting(resource_issues(resource))) for resource in data)
        encoded = [orjson.dumps(resource) for resource in data]
        parse = per_resource(orjson.loads, encoded, clock)  # type: ignore[arg-type]
        structure = per_resource(validate, data, clock)
        invariants = per_resource(gate_invariants, data, clock)
        gate = per_resource(resource_issues, data, clock)
        print(
            f"{name:10} {len(data):5} resources  µs each: structure {structure:5.1f}"
            f"  invariants {invariants:5.1f}  gate {gate:5.1f}"
            f"  (orjson.loads {parse:4.1f}; gate/parse {gate / parse:4.1f}x; {rejected} rejected)"
        )


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
    gate_parts(clock)


if __name__ == "__main__":
    main()
