"""Index extraction CPU per resource (``extract_index_rows``), A/B against another build.

    .venv/bin/python bench/bench_extract.py                       # this tree only
    git archive main yteso | tar -x -C /tmp/build-main
    .venv/bin/python bench/bench_extract.py --ab /tmp/build-main  # alternate old/new, 3 rounds

Corpora: ``bench_load.py``'s generated data (Vietnamese Patient/Encounter/Observation/
Condition), the Synthea samples (../shared/data/synthea) and a ``yteso.synth`` population.
Figures are ``time.process_time`` µs per resource (CPU, so less sensitive to the load average),
with the garbage collector off as in the bulk loader's workers, after one warm-up pass; the A/B
mode alternates the builds in one time window and prints the ratio new/old per corpus.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
SYNTHEA = HERE.parent.parent / "shared" / "data" / "synthea"


def bench_load_data(people: int) -> list[Any]:
    sys.path.insert(0, str(HERE))
    import bench_load as b

    rng = random.Random(7)
    out: list[Any] = []
    for n in range(people):
        subject, enc = f"Patient/pat-{n}", f"Encounter/enc-{n}"
        out += [b.patient(rng, n), b.encounter(rng, n, subject)]
        out += [b.observation(rng, n * 5 + k, subject, enc) for k in range(5)]
        out.append(b.condition(rng, n, subject, enc))
    return [orjson.loads(orjson.dumps(item)) for item in out]


def synthea(per_file: int = 1500) -> list[Any]:
    out: list[Any] = []
    for path in sorted((SYNTHEA / "smart-sample-bulk-fhir-10-patients").glob("*.000.ndjson")):
        with path.open("rb") as lines:
            out += [orjson.loads(line) for line in islice(lines, per_file)]
    for path in sorted((SYNTHEA / "smart-generated-sample-data-R4").glob("*.json"))[:4]:
        out += [entry["resource"] for entry in orjson.loads(path.read_bytes())["entry"]]
    return out


def population(people: int) -> list[Any]:
    from yteso.synth import iter_resources

    return [orjson.loads(orjson.dumps(item)) for item in iter_resources(people, 7)]


def measure(repeat: int) -> dict[str, float]:
    from yteso.store.index_rows import extract_index_rows

    corpora = {
        "bench_load": bench_load_data(1000),
        "synthea": synthea(),
        "synth": population(100),
    }
    figures = {}
    gc.disable()
    for name, resources in corpora.items():
        for resource in resources:  # warm-up: plans, caches
            extract_index_rows(resource)
        started = time.process_time()
        for _ in range(repeat):
            for resource in resources:
                extract_index_rows(resource)
        spent = time.process_time() - started
        figures[name] = spent / repeat / len(resources) * 1e6
    return figures


def _child(pythonpath: str, repeat: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    command = [sys.executable, __file__, "--json", "--repeat", str(repeat)]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ab", metavar="OLD_BUILD", help="directory holding the old yteso/")
    parser.add_argument("--new", metavar="NEW_BUILD", help="the new build (default: this tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.repeat)))
        return
    if not args.ab:
        for name, micros in measure(args.repeat).items():
            print(f"{name:12} {micros:6.1f} µs/resource")
        return
    new_path = args.new or str(HERE.parent)
    old: dict[str, list[float]] = {}
    new: dict[str, list[float]] = {}
    for round_ in range(args.rounds):
        for label, path, into in (("old", args.ab, old), ("new", new_path, new)):
            figures = _child(path, args.repeat)
            load = os.getloadavg()[0]
            shown = "  ".join(f"{k} {v:5.1f}" for k, v in figures.items())
            print(f"round {round_ + 1} {label}: {shown}  µs/resource (load {load:.1f})")
            for name, micros in figures.items():
                into.setdefault(name, []).append(micros)
    for name in old:
        best_old, best_new = min(old[name]), min(new[name])
        print(
            f"{name:12} old {best_old:6.1f}  new {best_new:6.1f} µs/resource (best of "
            f"{args.rounds})  new/old {best_new / best_old:.2f}"
        )


if __name__ == "__main__":
    main()
