"""Benchmark 1's CPU split: where a 100k bulk load's CPU goes, per process.

    .venv/bin/python bench/bench_load_cpu.py [--resources 100000] [--db sqlite|postgresql|both]

Generates ``bench_load.py``'s data (the same seed, the same files) and loads it into a fresh
store and prints the wall time and the CPU seconds (user + system) of the writer (this
process), of the worker processes, and of the PostgreSQL server's processes (``/proc`` of
every process of the ``postgres`` user: on a shared server that includes other sessions, so
run it alone). The load is CPU-bound when the total is about twice the wall on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_load
import psycopg

from yteso.store import load_paths, open_store


def postgres_cpu() -> float:
    """CPU seconds of every live process of the ``postgres`` user (and its reaped children)."""
    found = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True)
    ticks = 0
    for pid in found.stdout.split():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # ended meanwhile
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None  # ended meanwhile
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime stime


class OwnBackends:
    """CPU seconds of the server backends whose ``application_name`` is this load's tag (set
    through ``PGAPPNAME`` before the store opens, so the workers' connections carry it too)."""

    def __init__(self) -> None:
        self.tag = f"bench_load_cpu_{os.getpid()}"
        os.environ["PGAPPNAME"] = self.tag
        self.start: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> OwnBackends:
        self.start = self._sample()
        self.last = dict(self.start)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.last.update(self._sample())

    def seconds(self) -> float:
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.last.items())

    def _poll(self) -> None:
        while not self.stop.wait(0.2):
            self.last.update(self._sample())

    def _sample(self) -> dict[int, float]:
        with psycopg.connect(bench_load.PG_BASE, application_name="bench_load_cpu_probe") as db:
            found = db.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (self.tag,)
            ).fetchall()
        cpu = {pid: _process_cpu(pid) for (pid,) in found}
        return {pid: seconds for pid, seconds in cpu.items() if seconds is not None}


def measure(db: str, files: list[Path]) -> str:
    if db == "postgresql":
        return _measure(db, bench_load.fresh_pg_schema(), files)
    with tempfile.TemporaryDirectory() as folder:  # ~0.6 GB per 100k: not left behind
        return _measure(db, f"sqlite:///{folder}/load.db", files)


def _measure(db: str, url: str, files: list[Path]) -> str:
    own = OwnBackends() if db == "postgresql" else None
    store = open_store(url)
    server, started = postgres_cpu(), time.perf_counter()
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        if own is None:
            report = load_paths(store, files)
        else:
            with own:
                report = load_paths(store, files)
    finally:
        store.close()
    wall = time.perf_counter() - started
    me_after = resource.getrusage(resource.RUSAGE_SELF)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    writer = me_after.ru_utime - me.ru_utime + me_after.ru_stime - me.ru_stime
    workers = (
        children_after.ru_utime - children.ru_utime + children_after.ru_stime - children.ru_stime
    )
    server_cpu = postgres_cpu() - server if db == "postgresql" else 0.0
    total = writer + workers + server_cpu
    return (
        f"{db:<10} {report.loaded:,} loaded in {wall:.2f} s ({report.loaded / wall:,.0f}/s):"
        f" CPU s writer {writer:.2f}, workers {workers:.2f}, PostgreSQL server {server_cpu:.2f},"
        f" total {total:.2f} ({total / wall:.2f} cores busy)"
        + (f"; own backends {own.seconds():.2f}" if own else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    files = bench_load.generate(args.resources)
    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        print(measure(db, files), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
