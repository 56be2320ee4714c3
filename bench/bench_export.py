"""Benchmark: Bulk Data export (resources/s) against the raw ``SELECT body`` to a file.

    .venv/bin/python bench/bench_export.py [--people N] [--db URL ...]

For each store (a SQLite store of a synthetic population of ``--people`` people, generated with
``yteso.synth.generate`` and loaded once with ``yteso.store.load_paths`` under
bench/out/export/, plus every ``--db`` URL given, e.g. a PostgreSQL store another benchmark
loaded), in the same run:
- export: ``yteso.store.ndjson_export`` (the code ``$export`` and ``yteso export`` run) writing
  every current resource to ``<Type>.ndjson``;
- raw: one ``SELECT h.body FROM resource_current c JOIN resource_history h ...`` streamed to a
  single file with no per-resource work (a server-side cursor on PostgreSQL): the practical
  limit of reading the bodies out of that database.
Prints resources/s for both, their ratio, and the peak RSS growth during the export.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import time
from pathlib import Path

from yteso.store import load_paths, open_store
from yteso.store.ndjson_export import ExportPlan, planned_versions, write_ndjson
from yteso.synth import generate

OUT = Path(__file__).resolve().parent / "out" / "export"
RAW_SQL = (
    "SELECT h.body FROM resource_current c JOIN resource_history h ON h.seq = c.seq"
    " WHERE NOT c.deleted"
)


def synthetic_store(people: int) -> str:
    """A SQLite store of ``people`` synthetic people (generated and loaded once, then reused)."""
    folder = OUT / f"people-{people}"
    database = folder / "store.db"
    url = f"sqlite:///{database}"
    if database.exists():
        return url
    ndjson = folder / "ndjson"
    started = time.perf_counter()
    report = generate(people, 1, ndjson)
    print(
        f"synth: {sum(report.counts.values()):,} resources in {time.perf_counter() - started:.0f} s"
    )
    store = open_store(url + ".loading")
    started = time.perf_counter()
    loaded = load_paths(store, sorted(ndjson.glob("*.ndjson")))
    store.close()
    print(f"load: {loaded.loaded:,} resources in {time.perf_counter() - started:.0f} s")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{database}.loading{suffix}")
        if source.exists():
            source.rename(f"{database}{suffix}")
    shutil.rmtree(ndjson)
    return url


def raw_select(url: str, target: Path) -> int:
    count = 0
    with open(target, "wb", buffering=1 << 20) as out:
        if url.startswith("sqlite:///"):
            connection = sqlite3.connect(url.removeprefix("sqlite:///"))
            for (body,) in connection.execute(RAW_SQL):
                out.write(body if isinstance(body, bytes) else body.encode())
                out.write(b"\n")
                count += 1
            connection.close()
            return count
        import psycopg

        with psycopg.connect(url) as connection, connection.cursor(name="raw") as cursor:
            cursor.itersize = 10_000
            cursor.execute(RAW_SQL)
            for (body,) in cursor:
                out.write(body if isinstance(body, bytes) else body.encode())
                out.write(b"\n")
                count += 1
    return count


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(url: str) -> None:
    target = OUT / "run"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    store = open_store(url)
    rss_before = peak_rss_mb()  # the export runs first, so the raw run cannot hide its peak
    started = time.perf_counter()
    counts = write_ndjson(planned_versions(store, ExportPlan()), target / "export")
    seconds = time.perf_counter() - started
    rss_growth = peak_rss_mb() - rss_before
    store.close()
    started = time.perf_counter()
    raw = raw_select(url, target / "raw.ndjson")
    raw_seconds = time.perf_counter() - started
    exported = sum(counts.values())
    shown = url.split("?")[0] if "postgresql" in url else "sqlite"
    print(
        f"{shown}: export {exported:,} resources in {seconds:.1f} s = {exported / seconds:,.0f}/s;"
        f" raw SELECT {raw:,} in {raw_seconds:.1f} s = {raw / raw_seconds:,.0f}/s;"
        f" export/raw {raw_seconds / seconds:.2f}x; peak RSS +{rss_growth:.0f} MB"
    )
    shutil.rmtree(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=0, help="synthetic SQLite store (0: none)")
    parser.add_argument("--db", action="append", default=[], help="an existing store's URL")
    args = parser.parse_args()
    urls = ([synthetic_store(args.people)] if args.people else []) + args.db
    for url in urls:
        bench(url)


if __name__ == "__main__":
    main()
