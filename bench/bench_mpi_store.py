"""Real-time MPI matching through the store (what every server process does on a Patient write),
with baselines in the same run.

    .venv/bin/python bench/bench_mpi_store.py --people 200000
    .venv/bin/python bench/bench_mpi_store.py --people 200000 --db sqlite:///KEPT.db --scale 5 \
        --skip-creates 300     # the same store, match tables grown to 1,000,000 records
    .venv/bin/python bench/bench_mpi_store.py --people 1000000 --db postgresql://... --load-only

The originals of a ``yteso.synth`` population (Patients only, duplicates=0.1, cached by
``bench_mpi.py``'s ``synthetic_patients``) are bulk-loaded with the MPI's hooks, so the
``match_record``/``match_key`` tables hold every one. Then, one at a time, interleaved:
- ``match``: ``StoredMatcher.decide`` for a duplicate (candidates from the store, scored with
  the shipped model): the real-time decision;
- ``read``: ``store.read`` of one Patient (primary-key lookup): baseline;
- ``cccd search``: ``Patient?identifier=cccd-system|number``: baseline;
and, once the timings are taken, ``create``: a duplicate written through a store session with
the MPI hook (match, then link: Person, Patient.link, Task, all in the write's transaction).
Wall and CPU (process) time per call; p50/p95/p99.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mpi import read_patients, read_truth, synthetic_patients

from yteso.app import install_mpi
from yteso.fhir.types import Json
from yteso.fhir.vn_core import CCCD_SYSTEM
from yteso.mpi import Decision, Outcome, Thresholds
from yteso.mpi.normalize import birth_key, patient_features
from yteso.mpi.stored_matching import features_text, match_keys
from yteso.store import load_paths, open_store
from yteso.store.base import SearchParam, SearchQuery
from yteso.store.match_records import write_entries


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * q))]  # noqa: E731
    return {"p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99), "n": len(values)}


def timed(call: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def count_match_records(store: Any) -> int:
    with store.backend.reading() as db:
        return int(db.rows("SELECT count(*) FROM match_record")[0][0])


def add_shifted_copies(store: Any, originals: Path, scale: int) -> None:
    """Grow the match tables to ``scale`` times the population without generating and loading
    it (hours on this shared machine): copy k of each original (k = 1..scale-1) is born k years
    later, has another phone and CCCD, and keeps name, sex and ward. Block sizes then grow as
    in a population ``scale`` times larger (people per birth date, per name in a ward); the
    copies are near-twins of their original (same name and ward), which makes scoring harder,
    not easier. Written as match records only (the real-time match reads nothing else)."""
    if count_match_records(store) >= scale * store.counts().get("Patient", 0) * 0.99:
        return
    batch: list[tuple[str, int | None, tuple[tuple[str, ...], str]]] = []

    def flush() -> None:
        with store.backend.writing() as db:
            write_entries(store.backend, db, batch, [])
        batch.clear()

    for number, line in enumerate(originals.open("rb")):
        features = patient_features(json.loads(line))
        for k in range(1, scale):
            year = int(features.birth_date[:4]) + k if features.birth_date else None
            birth = f"{year}{features.birth_date[4:]}" if features.birth_date and year else None
            copy = replace(
                features,
                id=f"{features.id}-c{k}",
                birth_date=birth,
                birth_key=birth_key(birth),
                phone=f"{features.phone[:-1]}{(int(features.phone[-1]) + k) % 10}"
                if features.phone
                else None,
                cccd=f"{features.cccd[:-2]}{k:02d}" if features.cccd else None,
                social_insurance=None,
            )
            batch.append((copy.id, None, (match_keys(copy), features_text(copy))))
        if len(batch) >= 20_000:
            flush()
        if number % 100_000 == 0:
            print(f"copies of {number:,} originals", flush=True)
    flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--db", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--cache", type=Path, default=Path("bench/out/mpi"))
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="add (scale-1) shifted copies of every original as match records only",
    )
    parser.add_argument("--skip-creates", type=int, default=0, help="duplicates already created")
    parser.add_argument(
        "--load-only",
        action="store_true",
        help="load the store and stop (load two stores at once, then time each one alone)",
    )
    args = parser.parse_args()

    folder = synthetic_patients(args.people, args.seed, 0.1, args.cache)
    truth = read_truth(folder)
    originals = folder / "originals.ndjson"
    if not originals.exists():
        with originals.open("wb") as out:
            for patient in read_patients(folder):
                if patient["id"] not in truth:
                    out.write(json.dumps(patient).encode() + b"\n")
    duplicates = [p for p in read_patients(folder) if p["id"] in truth]
    workdir = Path(tempfile.mkdtemp(prefix="bench-mpi-store-"))
    url = args.db or f"sqlite:///{workdir / 'bench.db'}"
    store = open_store(url)
    registry = install_mpi(store, workdir / "none.json", Thresholds())
    started = time.perf_counter()
    if store.counts().get("Patient", 0) == 0:
        load_paths(store, [originals], workers=min(2, os.cpu_count() or 1))
    load_seconds = time.perf_counter() - started
    if args.scale > 1:
        add_shifted_copies(store, originals, args.scale)
    people_in_store = store.counts().get("Patient", 0)
    match_records = count_match_records(store)
    print(
        f"{people_in_store:,} Patients, {match_records:,} match records "
        f"(load {load_seconds:.0f} s)",
        flush=True,
    )
    if args.load_only:
        store.close()
        return

    load_before = os.getloadavg()
    queries = duplicates[: args.queries]
    ids = [p["id"] for p in read_patients(folder) if p["id"] not in truth][: args.queries]
    timings: dict[str, list[tuple[float, float]]] = {"match": [], "read": [], "cccd search": []}
    outcomes = {o: 0 for o in Outcome}
    wrong = 0
    for query, other in zip(queries, ids, strict=False):
        result: list[Decision] = []

        def match(q: Json = query, into: list[Decision] = result) -> None:
            into.append(registry.matcher.decide(q, store.match_candidates))

        timings["match"].append(timed(match))
        decision = result[0]
        outcomes[decision.outcome] += 1
        best = decision.best
        if decision.outcome is Outcome.LINK and best is not None and best.id != truth[query["id"]]:
            wrong += 1
        timings["read"].append(timed(lambda i=other: store.read("Patient", i)))
        number = next(
            (
                i["value"]
                for i in store.read("Patient", other).resource().get("identifier", [])
                if i.get("system") == CCCD_SYSTEM
            ),
            "000000000000",
        )
        search = SearchQuery(params=(SearchParam("identifier", (f"{CCCD_SYSTEM}|{number}",)),))
        timings["cccd search"].append(timed(lambda s=search: store.search("Patient", s)))

    creates: list[tuple[float, float]] = []
    first = args.queries + args.skip_creates
    for duplicate in duplicates[first : first + args.creates]:

        def write(patient: Json = duplicate) -> None:
            with store.session() as session:
                session.create({k: v for k, v in patient.items() if k != "id"})

        creates.append(timed(write))
    timings["create (match + link + write)"] = creates
    store.close()

    results: dict[str, object] = {
        "people_in_store": people_in_store,
        "match_records": match_records,
        "db": store.dialect,
        "load_s": round(load_seconds, 1),
        "outcomes": {k.value: v for k, v in outcomes.items()},
        "wrong_auto_links": wrong,
        "load_average_before_after": (load_before, os.getloadavg()),
    }
    baseline = statistics.median(w for w, _ in timings["read"])
    for name, values in timings.items():
        results[name] = {
            "wall": percentiles([w for w, _ in values]),
            "cpu": percentiles([c for _, c in values]),
            "median_vs_read": round(statistics.median(w for w, _ in values) / baseline, 1),
        }
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
