"""PostgreSQL's index build after a bulk load, alone: what each deferred index costs.

    .venv/bin/python bench/bench_index_build.py [--reuse] [--repeat 3] [--steps 3]

Bulk-loads bench_load.py's 100k resources into ``YTESO_BENCH_PG_SCHEMA`` (default
``bench_load``; ``--reuse``: keep what is loaded there), then
- per index: drops it and times its ``CREATE INDEX`` alone on one connection, with the build's
  settings (``index_build_settings``), ``--repeat`` times; prints the least backend CPU
  (utime + stime from /proc: steady on a shared machine) and its wall, largest first, with the
  rows and bytes per row of the index;
- the build step as a load runs it, ``--steps`` times: ``defer_bulk_indexes`` then
  ``rebuild_deferred_indexes`` (``index_build_connections`` at once); the server CPU of the
  store's own backends (found by ``application_name``) and the wall.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

import bench_load
import psycopg

from yteso.store import load_paths, open_store
from yteso.store.deferred_indexes import defer_bulk_indexes, rebuild_deferred_indexes

APPLICATION = f"bench_index_build_{os.getpid()}"


def backend_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0  # ended meanwhile
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_index(url: str, repeat: int) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
        settings = open_store(url)
        try:
            found = [
                (str(n), str(d))
                for n, d in db.execute(settings.backend.queries["deferrable_index_definitions"])
            ]
            build_settings = settings.backend.queries["index_build_settings"]
        finally:
            settings.close()
        rows = []
        for name, definition in found:
            table = re.search(r" ON (\S+) ", definition).group(1)
            count = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            best = (float("inf"), 0.0)
            for _ in range(repeat):
                db.execute(f'DROP INDEX "{name}"')
                with db.transaction():
                    db.execute(build_settings)
                    cpu, wall = backend_cpu(pid), time.perf_counter()
                    db.execute(definition)
                    best = min(best, (backend_cpu(pid) - cpu, time.perf_counter() - wall))
            size = db.execute("SELECT pg_relation_size(%s::regclass)", (name,)).fetchone()[0]
            rows.append((*best, name, count, size / max(count, 1), definition.split(" USING ")[1]))
    rows.sort(reverse=True)
    print(f"{'CPU s':>6} {'wall s':>6} {'rows':>8} {'B/row':>6}  index")
    for cpu, wall, name, count, per_row, shape in rows:
        print(f"{cpu:6.2f} {wall:6.2f} {count:8d} {per_row:6.1f}  {name}: {shape}")
    print(f"sum: CPU {sum(r[0] for r in rows):.2f} s, wall {sum(r[1] for r in rows):.2f} s")


def build_step(url: str) -> str:
    store = open_store(f"{url}&application_name={APPLICATION}")
    try:
        with psycopg.connect(url, autocommit=True) as admin:

            def backends() -> list[int]:
                query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
                return [int(pid) for (pid,) in admin.execute(query, (APPLICATION,))]

            dropped = defer_bulk_indexes(store.backend)
            before = {pid: backend_cpu(pid) for pid in backends()}
            started = time.perf_counter()
            built = rebuild_deferred_indexes(store.backend)
            wall = time.perf_counter() - started
            cpu = sum(backend_cpu(pid) - before.get(pid, 0.0) for pid in backends())
    finally:
        store.close()
    return f"build step: {built}/{dropped} indexes, server CPU {cpu:.2f} s, wall {wall:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded schema")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    if args.reuse:
        url = f"{bench_load.PG_BASE}?options=-csearch_path%3D{bench_load.PG_SCHEMA}"
    else:
        files = bench_load.generate(args.resources)
        url = bench_load.fresh_pg_schema()
        store = open_store(url)
        try:
            print(load_paths(store, files).summary())
        finally:
            store.close()
    print(f"load average {os.getloadavg()[0]:.1f}")
    per_index(url, args.repeat)
    for _ in range(args.steps):
        print(build_step(url), f"(load average {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
