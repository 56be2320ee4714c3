"""``yteso mpi link`` end to end on a store of a synthetic population (issue 8: 1,000,000
people batch-linked in under 15 minutes).

    .venv/bin/python bench/bench_mpi_link.py --people 1000000 --db sqlite:///bench/out/mpi-1m.db
    .venv/bin/python bench/bench_mpi_link.py --people 1000000 \
        --db postgresql://postgres@127.0.0.1:5432/yteso_mpi_bench

The Patients of a ``yteso.synth`` population with duplicates=0.1 (every registration, cached
by ``bench_mpi.py``'s ``synthetic_patients``; the households' other resources are skipped)
are bulk-loaded into the store (skipped when it already holds them), then the real command
runs in a child process, as an operator would start it: ``yteso mpi link --db URL`` with a
fresh ``YTESO_HOME``, so it trains its model on the population. Reported: the command's wall
time and its stages (match-record rebuild, reading, training, scoring, clustering, writing),
what it wrote (Persons, Tasks, Patient versions) and the pairwise quality of the persons
against the answer file; the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mpi import cluster_pairs, ordered, quality, read_truth, synthetic_patients

from yteso.app import install_mpi
from yteso.modules.mpi.records import person_members
from yteso.mpi import Thresholds
from yteso.store import load_paths, open_store


def first_records(folder: Path, records: int) -> Path:
    """The first ``records`` registrations of a cached population, with their answers (a
    duplicate follows its original in its household, so whole people are kept)."""
    part = folder.parent / f"{folder.name}-first-{records}"
    if (part / "done").exists():
        return part
    part.mkdir(exist_ok=True)
    kept: set[str] = set()
    with (
        (folder / "Patient.ndjson").open("rb") as lines,
        (part / "Patient.ndjson").open("wb") as out,
    ):
        for _, line in zip(range(records), lines, strict=False):
            out.write(line)
            kept.add(json.loads(line)["id"])
    with (part / "answers.csv").open("w", encoding="utf-8") as answers:
        for duplicate, original in read_truth(folder).items():
            if duplicate in kept and original in kept:
                answers.write(f"{duplicate},{original},\n")
    (part / "done").write_text("")
    return part


def load(url: str, folder: Path) -> dict[str, Any]:
    store = open_store(url)
    try:
        install_mpi(store, None, Thresholds())  # the bulk path writes the match records
        if store.counts().get("Patient", 0) > 0:
            return {"loaded": "already", "patients": store.counts()["Patient"]}
        started = time.perf_counter()
        report = load_paths(store, [folder / "Patient.ndjson"], workers=2)
        return {
            "load_s": round(time.perf_counter() - started, 1),
            "patients": store.counts().get("Patient", 0),
            "report": str(report),
        }
    finally:
        store.close()


def run_link(url: str, home: Path) -> dict[str, Any]:
    command = [str(Path(sys.executable).parent / "yteso"), "mpi", "link", "--db", url]
    environment = {**os.environ, "YTESO_HOME": str(home), "COLUMNS": "100"}
    before = os.getloadavg()
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"yteso mpi link failed:\n{done.stdout}\n{done.stderr}")
    summary = done.stdout.strip().splitlines()[-1]
    stages = {k: float(v) for k, v in re.findall(r"(\w+) (\d+\.\d+)", summary.split("seconds")[1])}
    return {
        "command": " ".join(command[1:]),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),  # the command and its workers (not the database server's)
        # the largest of this bench's child processes so far (the command, as it is the last)
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "stages_s": stages,
        "summary": summary,
        "load_average_before": before,
        "load_average_after": os.getloadavg(),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def written(url: str, truth: dict[str, str]) -> dict[str, Any]:
    store = open_store(url)
    try:
        groups: dict[str, list[str]] = {}
        retired = 0
        for stored in store.iter_current("Person"):
            person = stored.resource()
            if person.get("active") is False:
                retired += 1
                continue
            groups[stored.id] = person_members(person)
        pending = sum(
            1 for s in store.iter_current("Task") if s.resource().get("status") == "requested"
        )
        with store.backend.reading() as db:  # Patient versions the command wrote
            rows = db.rows(
                "SELECT count(*) FROM resource_history WHERE resource_type = 'Patient' "
                "AND version > 1"
            )
        predicted = cluster_pairs(groups)
        expected = {ordered(d, o) for d, o in truth.items()}
        return {
            "counts": store.counts(),
            "persons": len(groups),
            "retired_persons": retired,
            "pending_review_tasks": pending,
            "patient_versions_written": int(rows[0][0]),
            "quality": quality(predicted, expected),
        }
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--cache", type=Path, default=Path("bench/out/mpi"))
    parser.add_argument("--records", type=int, help="only the first RECORDS registrations")
    parser.add_argument("--load-only", action="store_true", help="stop after the bulk load")
    args = parser.parse_args()

    folder = synthetic_patients(args.people, args.seed, 0.1, args.cache)
    if args.records:
        folder = first_records(folder, args.records)
    truth = read_truth(folder)
    workdir = Path(tempfile.mkdtemp(prefix="bench-mpi-link-"))
    url = args.db or f"sqlite:///{workdir / 'bench.db'}"
    results: dict[str, Any] = {"people": args.people, "records": args.records, "db": url[:8]}
    results["load"] = load(url, folder)
    print(json.dumps(results), flush=True)
    if args.load_only:
        return
    results["link"] = run_link(url, workdir / "home")
    print(json.dumps(results["link"]), flush=True)
    results["written"] = written(url, truth)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
