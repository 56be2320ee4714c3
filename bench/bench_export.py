"""Benchmark: Bulk Data export (resources/s) against the raw ``SELECT body`` to a file.

    .venv/bin/python bench/bench_export.py [--people N] [--postgres ADMIN_URL] [--db URL ...]
        [--http N] [--no-writer] [--build-only]

For each store (a SQLite store of a synthetic population of ``--people`` people, generated with
``yteso.synth.generate`` once under bench/out/export/ and loaded once with
``yteso.store.load_paths``; with ``--postgres``, the same population in PostgreSQL, database
``yteso_bench_export``, kept for reruns; plus every ``--db`` URL given), in the same run:
- export: ``yteso.store.ndjson_export`` (the code ``$export`` and ``yteso export`` run) writing
  every current resource to ``<Type>.ndjson``;
- raw: one ``SELECT h.body FROM resource_current c JOIN resource_history h ...`` streamed to a
  single file with no per-resource work (a server-side cursor on PostgreSQL): the practical
  limit of reading the bodies out of that database.
Prints resources/s for both, their ratio, and the peak RSS growth during the export.
With ``--http N``: ``$export`` over HTTP end to end (kick-off, polling, every file downloaded;
``export_http.py``), N times against one server process.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from urllib.parse import quote

from yteso.store import load_paths, open_store
from yteso.store.ndjson_export import ExportPlan, planned_versions, write_ndjson
from yteso.synth import generate

OUT = Path(__file__).resolve().parent / "out" / "export"
PG_DATABASE = "yteso_bench_export"
RAW_SQL = (
    "SELECT h.body FROM resource_current c JOIN resource_history h ON h.seq = c.seq"
    " WHERE NOT c.deleted"
)


def synthetic_ndjson(people: int) -> Path:
    """The population as NDJSON (generated once, kept: each database's store is loaded from it)."""
    folder = OUT / f"people-{people}" / "ndjson"
    if (folder / "done").exists():
        return folder
    started = time.perf_counter()
    report = generate(people, 1, folder)
    (folder / "done").touch()
    print(
        f"synth: {sum(report.counts.values()):,} resources in {time.perf_counter() - started:.0f} s"
    )
    return folder


def _load(url: str, ndjson: Path) -> None:
    store = open_store(url)
    started = time.perf_counter()
    loaded = load_paths(store, sorted(ndjson.glob("*.ndjson")))
    store.close()
    print(
        f"load: {loaded.loaded:,} resources in {time.perf_counter() - started:.0f} s "
        f"(load average {os.getloadavg()[0]:.1f})"
    )


def synthetic_store(people: int) -> str:
    """A SQLite store of ``people`` synthetic people (generated and loaded once, then reused)."""
    database = OUT / f"people-{people}" / "store.db"
    url = f"sqlite:///{database}"
    if database.exists():
        return url
    _load(url + ".loading", synthetic_ndjson(people))
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{database}.loading{suffix}")
        if source.exists():
            source.rename(f"{database}{suffix}")
    return url


def synthetic_postgres(people: int, admin: str) -> str:
    """The same population in PostgreSQL: database ``yteso_bench_export``, schema
    ``people_<N>`` (loaded once, kept for reruns; drop the schema to reload)."""
    import psycopg

    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)
        ).fetchone():
            connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    base = admin.rsplit("/", 1)[0] + "/" + PG_DATABASE
    schema, done = f"people_{people}", f"people_{people}_loaded"
    url = base + "?options=" + quote(f"-csearch_path={schema}")
    with psycopg.connect(base, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (done,)).fetchone():
            return url
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # a half-done load
        connection.execute(f'CREATE SCHEMA "{schema}"')
    _load(url, synthetic_ndjson(people))
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{done}"')  # the marker of a complete load
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


def bench_http(url: str, repeat: int) -> None:
    """``$export`` over HTTP, end to end (``export_http.py``), best of ``repeat``."""
    sys.path.insert(0, str(Path(__file__).parent))
    from export_http import http_export, running_server

    shown = url.split("?")[0] if "postgresql" in url else "sqlite"
    with running_server(url) as (base, token, pid):
        for attempt in range(repeat):
            target = OUT / "http-run"
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            load = os.getloadavg()[0]
            run = http_export(base, token, pid, target)
            shutil.rmtree(target)
            print(
                f"{shown} HTTP $export #{attempt + 1}: {run.resources:,} resources in {run.files}"
                f" files ({run.bytes / 1e9:.2f} GB) in {run.seconds:.1f} s = {run.rate:,.0f}/s"
                f" (manifest after {run.manifest_seconds:.1f} s, downloads"
                f" {run.seconds - run.manifest_seconds:.1f} s); server CPU"
                f" {run.server_cpu_seconds:.1f} s = {run.resources / run.server_cpu_seconds:,.0f}"
                f" per CPU-s, client CPU {run.client_cpu_seconds:.1f} s; server peak RSS"
                f" +{run.server_rss_growth_mb:.0f} MB; load average {load:.1f} ->"
                f" {os.getloadavg()[0]:.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=0, help="synthetic SQLite store (0: none)")
    parser.add_argument(
        "--postgres", help="also the same population in PostgreSQL (admin URL of the server)"
    )
    parser.add_argument("--db", action="append", default=[], help="an existing store's URL")
    parser.add_argument("--build-only", action="store_true", help="build the stores and stop")
    parser.add_argument(
        "--http", type=int, default=0, metavar="N", help="HTTP $export end to end, best of N"
    )
    parser.add_argument("--no-writer", action="store_true", help="skip the writer-only bench")
    args = parser.parse_args()
    urls = [synthetic_store(args.people)] if args.people else []
    if args.people and args.postgres:
        urls.append(synthetic_postgres(args.people, args.postgres))
    urls += args.db
    if args.build_only:
        return
    for url in urls:
        if not args.no_writer:
            bench(url)
        if args.http:
            bench_http(url, args.http)


if __name__ == "__main__":
    main()
