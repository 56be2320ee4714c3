"""Benchmark 1: bulk load of 100,000 realistic resources against raw inserts of the same rows.

    .venv/bin/python bench/bench_load.py [--resources 100000] [--db sqlite|postgresql|both]

Generates Patients, Encounters, Observations and Conditions (about 1.4 KB each, with
references) as NDJSON under bench/out/load/, then for each database:
- load: ``yteso.store.load_paths`` (parse, validate, stamp, index; worker processes feeding one
  batching writer) into a fresh store: an empty store, so the loader's default builds the
  search indexes after the last batch (included in the time);
- raw: the same JSON lines inserted into a bare ``(resource_type, id, body)`` table in batches
  of 1,000 with no FHIR processing (SQLite executemany per batch; PostgreSQL COPY per batch):
  the physical limit of the database.
Prints resources/s for both and the ratio.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import random
import resource
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
from psycopg import sql

from yteso.fhir import json_codec
from yteso.fhir.validation import validate
from yteso.store import extract_index_rows, load_paths, open_store
from yteso.store.bulk_load import LOAD_GC_THRESHOLD, _Task, prepare_task
from yteso.store.meta_stamp import stamped_body
from yteso.store.validation_gate import resource_issues

OUT = Path(__file__).resolve().parent / "out" / "load"
PG_BASE = "postgresql://postgres@127.0.0.1:5432/yteso_test"
# One schema per concurrent run (several worktrees benchmarking on one server).
PG_SCHEMA = os.environ.get("YTESO_BENCH_PG_SCHEMA", "bench_load")
RAW_BATCH = 1000

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", "Quốc"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hương", "Khánh", "Lan", "Linh", "Mai"]
WARDS = [
    ("00004", "Phường Ba Đình", "Thành phố Hà Nội"),
    ("26734", "Phường Bến Thành", "Thành phố Hồ Chí Minh"),
    ("20194", "Phường Hải Châu", "Thành phố Đà Nẵng"),
]
VITALS = [
    ("8867-4", "Heart rate", "/min", "/min", 50, 120),
    ("8310-5", "Body temperature", "Cel", "Cel", 36, 40),
    ("29463-7", "Body weight", "kg", "kg", 3, 95),
    ("2339-0", "Glucose", "mmol/L", "mmol/L", 3, 15),
]
CONDITIONS = [
    ("E11", "Đái tháo đường typ 2"),
    ("I10", "Tăng huyết áp vô căn"),
    ("J06.9", "Nhiễm trùng hô hấp trên cấp"),
    ("A90", "Sốt Dengue"),
]
ORG = "Organization/bv-bach-mai"


def _day(rng: random.Random, start: int, end: int) -> str:
    return f"{rng.randint(start, end)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def cccd(rng: random.Random, birth_date: str, gender: str) -> str:
    """A well-formed citizen ID (Circular 07/2016/TT-BCA Art. 7): province-of-birth code
    (Hà Nội, Đà Nẵng, Hồ Chí Minh), century/sex digit, 2-digit birth year, 6 random digits."""
    year = int(birth_date[:4])
    century_sex = (year // 100 - 19) * 2 + (1 if gender == "female" else 0)
    province = rng.choice(["001", "048", "079"])
    return f"{province}{century_sex}{year % 100:02d}{rng.randint(0, 999999):06d}"


def patient(rng: random.Random, n: int) -> dict[str, object]:
    ward, ward_name, province = rng.choice(WARDS)
    family, middle, given = rng.choice(FAMILY), rng.choice(MIDDLE), rng.choice(GIVEN)
    gender, birth_date = rng.choice(["male", "female"]), _day(rng, 1940, 2023)
    return {
        "resourceType": "Patient",
        "id": f"pat-{n}",
        "meta": {"profile": ["http://fhir.hl7.org.vn/core/StructureDefinition/vn-core-patient"]},
        "identifier": [
            {
                "use": "official",
                "system": "http://fhir.hl7.org.vn/core/sid/cccd",
                "value": cccd(rng, birth_date, gender),
            },
            {
                "system": "http://fhir.hl7.org.vn/core/sid/bhyt",
                "value": f"GD4{rng.randint(10, 99)}{rng.randint(0, 9999999999):010d}",
            },
        ],
        "active": True,
        "name": [
            {
                "use": "official",
                "text": f"{family} {middle} {given}",
                "family": family,
                "given": [middle, given],
            }
        ],
        "telecom": [
            {"system": "phone", "value": f"09{rng.randint(0, 99999999):08d}", "use": "mobile"},
            {"system": "email", "value": f"user{n}@example.vn"},
        ],
        "gender": gender,
        "birthDate": birth_date,
        "address": [
            {
                "use": "home",
                "type": "physical",
                "extension": [
                    {
                        "url": "http://fhir.hl7.org.vn/core/StructureDefinition/ward",
                        "valueCoding": {
                            "system": "http://fhir.hl7.org.vn/core/CodeSystem/ward",
                            "code": ward,
                            "display": ward_name,
                        },
                    }
                ],
                "line": [f"Số {rng.randint(1, 300)} ngõ {rng.randint(1, 99)}"],
                "city": province,
                "country": "VN",
            }
        ],
        "maritalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
                    "code": "M",
                    "display": "Married",
                }
            ]
        },
        "communication": [
            {
                "language": {
                    "coding": [{"system": "urn:ietf:bcp:47", "code": "vi", "display": "Tiếng Việt"}]
                },
                "preferred": True,
            }
        ],
        "managingOrganization": {"reference": ORG},
        "generalPractitioner": [{"reference": "Practitioner/bs-1", "display": "BS. Trần Văn Bình"}],
        "contact": [
            {
                "relationship": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                                "code": "N",
                                "display": "Next-of-Kin",
                            }
                        ]
                    }
                ],
                "name": {"text": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"},
                "telecom": [{"system": "phone", "value": f"09{rng.randint(0, 99999999):08d}"}],
            }
        ],
    }


def encounter(rng: random.Random, n: int, subject: str) -> dict[str, object]:
    day = _day(rng, 2020, 2025)
    return {
        "resourceType": "Encounter",
        "id": f"enc-{n}",
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "type": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "185349003",
                        "display": "Encounter for check up",
                    }
                ],
                "text": "Khám bệnh ngoại trú",
            }
        ],
        "subject": {"reference": subject},
        "participant": [
            {
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "PPRF",
                                "display": "primary performer",
                            }
                        ]
                    }
                ],
                "individual": {"reference": "Practitioner/bs-1"},
            }
        ],
        "period": {"start": f"{day}T08:00:00+07:00", "end": f"{day}T08:30:00+07:00"},
        "reasonCode": [
            {
                "coding": [
                    {"system": "http://snomed.info/sct", "code": "386661006", "display": "Fever"}
                ],
                "text": "Sốt",
            }
        ],
        "serviceProvider": {"reference": ORG},
        "identifier": [{"system": "http://bvbachmai.vn/encounter", "value": f"LK-{n:09d}"}],
        "location": [
            {
                "location": {
                    "reference": "Location/phong-kham-3",
                    "display": "Phòng khám Nội tổng hợp số 3",
                },
                "status": "completed",
            }
        ],
        "priority": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActPriority",
                    "code": "R",
                    "display": "routine",
                }
            ]
        },
    }


def observation(rng: random.Random, n: int, subject: str, enc: str) -> dict[str, object]:
    code, display, unit, ucum, low, high = rng.choice(VITALS)
    return {
        "resourceType": "Observation",
        "id": f"obs-{n}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                        "display": "Vital Signs",
                    }
                ],
                "text": "Dấu hiệu sinh tồn",
            }
        ],
        "code": {
            "coding": [{"system": "http://loinc.org", "code": code, "display": display}],
            "text": display,
        },
        "subject": {"reference": subject},
        "encounter": {"reference": enc},
        "effectiveDateTime": f"{_day(rng, 2020, 2025)}T09:{rng.randint(0, 59):02d}:00+07:00",
        "issued": "2025-01-01T10:00:00.000+07:00",
        "performer": [{"reference": "Practitioner/bs-1"}, {"reference": ORG}],
        "valueQuantity": {
            "value": round(rng.uniform(low, high), 1),
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": ucum,
        },
        "interpretation": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                        "code": "N",
                        "display": "Normal",
                    }
                ]
            }
        ],
        "referenceRange": [
            {
                "low": {
                    "value": low,
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": ucum,
                },
                "high": {
                    "value": high,
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": ucum,
                },
                "text": "Khoảng tham chiếu người lớn",
            }
        ],
        "note": [{"text": "Đo tại phòng khám, bệnh nhân nghỉ ngơi 5 phút trước khi đo."}],
        "identifier": [{"system": "http://bvbachmai.vn/observation", "value": f"OBS-{n:010d}"}],
        "method": {
            "coding": [
                {"system": "http://snomed.info/sct", "code": "37931006", "display": "Auscultation"}
            ],
            "text": "Đo thủ công",
        },
        "device": {"reference": "Device/may-do-123", "display": "Máy đo sinh hiệu"},
    }


def condition(rng: random.Random, n: int, subject: str, enc: str) -> dict[str, object]:
    code, display = rng.choice(CONDITIONS)
    return {
        "resourceType": "Condition",
        "id": f"cond-{n}",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                    "display": "Active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                    "display": "Confirmed",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "encounter-diagnosis",
                        "display": "Encounter Diagnosis",
                    }
                ]
            }
        ],
        "severity": {
            "coding": [
                {"system": "http://snomed.info/sct", "code": "6736007", "display": "Moderate"}
            ]
        },
        "code": {
            "coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": code, "display": display}
            ],
            "text": display,
        },
        "subject": {"reference": subject},
        "encounter": {"reference": enc},
        "onsetDateTime": f"{_day(rng, 2015, 2025)}T00:00:00+07:00",
        "recordedDate": f"{_day(rng, 2020, 2025)}",
        "recorder": {"reference": "Practitioner/bs-1"},
        "note": [{"text": "Theo dõi định kỳ tại trạm y tế xã; tái khám sau 30 ngày."}],
        "identifier": [{"system": "http://bvbachmai.vn/condition", "value": f"DX-{n:010d}"}],
        "bodySite": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "38266002",
                        "display": "Entire body as a whole",
                    }
                ]
            }
        ],
        "evidence": [
            {
                "code": [
                    {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "386661006",
                                "display": "Fever",
                            }
                        ],
                        "text": "Sốt kéo dài",
                    }
                ]
            }
        ],
    }


def generate(total: int, seed: int = 7) -> list[Path]:
    """Per patient: 1 Patient, 1 Encounter, 5 Observations, 1 Condition (8 resources)."""
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    files = {
        name: (OUT / f"{name}.ndjson").open("wb")
        for name in ("Patient", "Encounter", "Observation", "Condition")
    }
    written = 0
    n = 0
    while written < total:
        subject, enc = f"Patient/pat-{n}", f"Encounter/enc-{n}"
        rows = [("Patient", patient(rng, n)), ("Encounter", encounter(rng, n, subject))]
        rows += [("Observation", observation(rng, n * 5 + k, subject, enc)) for k in range(5)]
        rows.append(("Condition", condition(rng, n, subject, enc)))
        for name, item in rows[: total - written]:
            files[name].write(orjson.dumps(item) + b"\n")
            written += 1
        n += 1
    for handle in files.values():
        handle.close()
    return sorted(OUT.glob("*.ndjson"))


def raw_rows(files: list[Path]) -> list[tuple[str, str, str]]:
    rows = []
    for path in files:
        for line in path.read_bytes().splitlines():
            resource = orjson.loads(line)  # only to name the row; not part of the timing
            rows.append((resource["resourceType"], resource["id"], line.decode()))
    return rows


def raw_sqlite(path: Path, rows: list[tuple[str, str, str]]) -> float:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE raw (resource_type TEXT, id TEXT, body TEXT, PRIMARY KEY (resource_type, id))"
    )
    started = time.perf_counter()
    for start in range(0, len(rows), RAW_BATCH):
        db.execute("BEGIN")
        db.executemany("INSERT INTO raw VALUES (?, ?, ?)", rows[start : start + RAW_BATCH])
        db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return len(rows) / seconds


def raw_postgres(url: str, rows: list[tuple[str, str, str]]) -> float:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "CREATE TABLE raw (resource_type TEXT, id TEXT, body JSONB,"
            " PRIMARY KEY (resource_type, id))"
        )
        started = time.perf_counter()
        for start in range(0, len(rows), RAW_BATCH):
            with (
                db.transaction(),
                db.cursor() as cursor,
                cursor.copy("COPY raw FROM STDIN") as copy,
            ):
                for row in rows[start : start + RAW_BATCH]:
                    copy.write_row(row)
        return len(rows) / (time.perf_counter() - started)


def ensure_pg_database() -> None:
    """Create the benchmark's database on a fresh server (it connects to ``postgres`` first)."""
    admin, name = PG_BASE.rsplit("/", 1)
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as db:
        if not db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def fresh_pg_schema() -> str:
    ensure_pg_database()
    with psycopg.connect(PG_BASE, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        db.execute(f"CREATE SCHEMA {PG_SCHEMA}")
    return f"{PG_BASE}?options=-csearch_path%3D{PG_SCHEMA}"


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the loader's worker processes)."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def measure_load(url: str, files: list[Path]) -> tuple[float, float, int, int]:
    """Resources/s (wall clock) and resources per CPU-second of the loader processes."""
    store = open_store(url)
    cpu = cpu_seconds()
    try:
        report = load_paths(store, files)
    finally:
        store.close()
    return report.rate, report.loaded / (cpu_seconds() - cpu), report.loaded, report.failed


def cpu_breakdown(files: list[Path], sample: int = 10_000) -> str:
    """CPU microseconds per resource of each preparation step, on a sample, in this process,
    with the collector set as in the loader's workers. ``worker`` is the whole worker task
    (``prepare_task``: everything before it and the row grouping), ``ipc`` pickling its
    result and unpickling it (what crosses between processes)."""
    lines = [line for path in files for line in path.read_bytes().splitlines()][:sample]
    now = datetime.now(UTC)
    parsed = [json_codec.loads(line) for line in lines]
    task = _Task("sample", 1, b"\n".join(lines), index_format="rows")
    prepared = prepare_task(task)
    steps: dict[str, Callable[[], object]] = {
        # what the loader runs: orjson plus the scan for numbers orjson would not keep exactly
        "parse": lambda: [json_codec.loads(line) for line in lines],
        "structure": lambda: [validate(r) for r in parsed],
        "gate (structure + invariants)": lambda: [resource_issues(r) for r in parsed],
        "stamp": lambda: [stamped_body(r, r["id"], 1, now) for r in parsed],
        "extraction": lambda: [extract_index_rows(r) for r in parsed],
        "worker": lambda: prepare_task(task),
        "ipc": lambda: pickle.loads(pickle.dumps(prepared, pickle.HIGHEST_PROTOCOL)),
    }
    thresholds = gc.get_threshold()
    gc.set_threshold(*LOAD_GC_THRESHOLD)
    parts = []
    try:
        for name, step in steps.items():
            step()  # warm: plans and caches are built once per process
            started = time.process_time()
            step()
            parts.append(f"{name} {(time.process_time() - started) / len(lines) * 1e6:.0f}")
    finally:
        gc.set_threshold(*thresholds)
    return "CPU µs per resource: " + ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    files = generate(args.resources)
    size = sum(p.stat().st_size for p in files) / args.resources
    print(f"generated {args.resources:,} resources, {size:,.0f} bytes each on average")
    print(cpu_breakdown(files))
    rows = raw_rows(files)
    for dialect in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        if dialect == "sqlite":
            db_file = OUT / "load.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)
            rate, per_cpu, loaded, failed = measure_load(f"sqlite:///{db_file}", files)
            raw = raw_sqlite(OUT / "raw.db", rows)
        else:
            rate, per_cpu, loaded, failed = measure_load(fresh_pg_schema(), files)
            raw = raw_postgres(fresh_pg_schema(), rows)
        print(
            f"{dialect:10} load {rate:7,.0f} resources/s, {per_cpu:7,.0f} per loader CPU-second"
            f" ({loaded:,} loaded, {failed:,} rejected) | raw {raw:7,.0f} rows/s"
            f" | ratio {rate / raw:.2f}"
        )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(cpu_breakdown(files))


if __name__ == "__main__":
    main()
