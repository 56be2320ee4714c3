"""The 12 search queries of bench_search.py with CPU next to wall time, one build per run.

    .venv/bin/python bench/bench_search_cpu.py --db sqlite|postgresql [--repeat 20]

For A/B of two builds on the same (already loaded) 1M databases, alternate runs with
``PYTHONPATH=/tmp/build-X`` (``git archive <rev> yteso | tar -x -C /tmp/build-X``) and compare
the medians. Prints one JSON object: per query the first run's wall ms, then over ``--repeat``
runs after it the median wall ms, median process CPU ms (SQLite works in-process), and for
PostgreSQL the mean backend CPU ms (utime + stime from /proc of the store's own connections,
found by ``application_name``; parallel workers are not counted). On a shared machine the CPU
figures are steadier than wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import bench_search
import psycopg
from bench_search import PG_BASE, _page_50, _url, add_location_args, cases, use_location

from yteso.store import open_store

APPLICATION = "bench_search_cpu"
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def backend_cpu_ms() -> float:
    """CPU so far of the PostgreSQL backends serving this process's store."""
    with psycopg.connect(PG_BASE, autocommit=True) as watch:
        rows = watch.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (APPLICATION,)
        ).fetchall()
    total = 0.0
    for (pid,) in rows:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) * TICK_MS
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--people", type=int, default=42750)
    parser.add_argument("--repeat", type=int, default=20)
    add_location_args(parser)
    args = parser.parse_args()
    use_location(args)
    url = _url(args.db, fresh=False, people=args.people)
    postgres = args.db == "postgresql"
    store = open_store(url + (f"&application_name={APPLICATION}" if postgres else ""))
    out: dict[str, dict[str, float]] = {}
    for label, resource_type, query in cases(bench_search.OUT / f"people-{args.people}"):
        if label.endswith("page 50"):
            query = _page_50(store, resource_type, query)
        walls, cpus = [], []
        server_start = 0.0
        for run in range(args.repeat + 1):
            wall, cpu = time.perf_counter(), time.process_time()
            store.search(resource_type, query)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            if run == 0 and postgres:
                server_start = backend_cpu_ms()
        server = (backend_cpu_ms() - server_start) / args.repeat if postgres else 0.0
        out[label] = {
            "first": walls[0],
            "wall": statistics.median(walls[1:]),
            "cpu": statistics.median(cpus[1:]),
            "server": server,
        }
    store.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
