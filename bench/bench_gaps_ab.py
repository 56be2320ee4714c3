"""A/B of the search-gaps write costs: the current build against another, alternating.

    .venv/bin/python bench/bench_gaps_ab.py --other /tmp/build-main [--resources 5000] [--rounds 3]

For each build (``PYTHONPATH``), a child process prepares ``--resources`` synthetic resources
and reports, in process CPU time per resource (robust to a loaded machine): index-row
extraction (``extract_index_rows``; composite parameters are indexed per element on this
branch), the index rows per resource, and the SQLite writer (``write_prepared`` into a fresh
file database, batches of 1,000). Rounds alternate the builds; the best round of each counts.
Also reports the cost of one custom-SearchParameter registry check
(``SqlStore.sync_search_parameters``) on SQLite and PostgreSQL for the current build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

CHILD = r"""
import json, sys, tempfile, time
from datetime import UTC, datetime
from pathlib import Path
from yteso.store import open_store
from yteso.store.bulk_prepare import PreparedResource, prepare_resource
from yteso.store.index_rows import extract_index_rows
from yteso.synth import iter_resources

count = int(sys.argv[1])
resources = []
for resource in iter_resources(count // 20 + 1, 3):
    resources.append(resource)
    if len(resources) == count:
        break
for r in resources[:200]:
    extract_index_rows(r)  # warm the per-type caches
started = time.process_time()
rows = sum(len(extract_index_rows(r)) for r in resources)
extract = time.process_time() - started
now = datetime.now(UTC)
prepared = [prepare_resource(r, now) for r in resources]
prepared = [p for p in prepared if isinstance(p, PreparedResource)]
with tempfile.TemporaryDirectory() as folder:
    store = open_store(f"sqlite:///{Path(folder) / 'b.db'}")
    started = time.process_time()
    for i in range(0, len(prepared), 1000):
        store.write_prepared(prepared[i : i + 1000])
    write = time.process_time() - started
    store.close()
import yteso
print(json.dumps({"source": yteso.__file__, "extract_us": extract / len(resources) * 1e6,
                  "rows": rows / len(resources), "write_us": write / len(prepared) * 1e6,
                  "n": len(resources)}))
"""

SYNC = r"""
import json, sys, time
from yteso.store import open_store
out = {}
for name, url in (("sqlite", sys.argv[1]), ("postgresql", sys.argv[2])):
    store = open_store(url)
    store.sync_search_parameters()
    started, wall = time.process_time(), time.perf_counter()
    for _ in range(2000):
        store.sync_search_parameters()
    out[name] = {"cpu_us": (time.process_time() - started) / 2000 * 1e6,
                 "wall_us": (time.perf_counter() - wall) / 2000 * 1e6}
    store.close()
print(json.dumps(out))
"""


def run(build: str, code: str, *args: str) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=build)
    done = subprocess.run(  # cwd: not the checkout, whose yteso would shadow PYTHONPATH
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--other", required=True, help="the baseline build (a yteso tree)")
    parser.add_argument("--resources", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/yteso_test")
    args = parser.parse_args()
    here = str(Path(__file__).resolve().parent.parent)
    builds = {"baseline": args.other, "this": here}
    best: dict[str, dict[str, float]] = {}
    for round_ in range(args.rounds):
        for name, build in builds.items():
            result = run(build, CHILD, str(args.resources))
            print(f"round {round_} {name}: {result}", flush=True)
            kept = best.setdefault(name, {})
            for key in ("extract_us", "write_us"):
                kept[key] = min(kept.get(key, 1e18), float(result[key]))  # type: ignore[arg-type]
            kept["rows"] = float(result["rows"])  # type: ignore[arg-type]
    base, this = best["baseline"], best["this"]
    for key in ("extract_us", "write_us"):
        ratio = this[key] / base[key]
        print(f"{key}: baseline {base[key]:.0f} this {this[key]:.0f} ratio {ratio:.3f}")
    print(f"rows per resource: baseline {base['rows']:.2f} this {this['rows']:.2f}")
    schema = "bench_gaps_sync"  # a schema of its own, dropped afterwards
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            sqlite = f"sqlite:///{Path(folder) / 'sync.db'}"
            postgres = f"{args.pg}?options=-csearch_path%3D{schema}"
            print("registry check:", run(here, SYNC, sqlite, postgres))
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
