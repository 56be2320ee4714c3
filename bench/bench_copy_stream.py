"""The PostgreSQL COPY stream of a bulk load, without the workers: writer and server CPU.

    .venv/bin/python bench/bench_copy_stream.py [--resources 100000] [--repeat 3]

Prepares ``bench_load.py``'s data once (worker processes, as a load does; not measured), then
replays the loader's writer loop (batches of ``BATCH_SIZE``, ``write_prepared``) into a fresh
schema whose deferrable indexes are dropped, as a load into an empty store does; the index
build and ANALYZE after it are not part of this. Prints per run the writer's CPU seconds (this
process, during the writes only), the CPU seconds of this database's server backends (only
the connections to ``PG_DB``: other sessions on the server are not counted; the WAL writer
and checkpointer are not either), and the WAL bytes written meanwhile (``pg_current_wal_lsn``:
server-wide, so other sessions' writes count when they run).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_load

from yteso.store import open_store
from yteso.store.bulk_load import BATCH_SIZE, _prepared_stream, _tasks
from yteso.store.bulk_prepare import PreparedResource, collector_paused
from yteso.store.deferred_indexes import defer_bulk_indexes
from yteso.store.index_blocks import IndexBlock
from yteso.store.postgres_backend import PostgresBackend
from yteso.store.sql_store import SqlStore

PG_DB = os.environ.get("YTESO_BENCH_PG_DB", "yteso_bench_copy")
PG_SCHEMA = os.environ.get("YTESO_BENCH_PG_SCHEMA", "bench_copy")
SERVER = "postgresql://postgres@127.0.0.1:5432"


def backend_cpu() -> float:
    """CPU seconds of the server backends connected to ``PG_DB`` (their process titles)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
            if f" postgres {PG_DB} ".encode() not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime stime
    return ticks / os.sysconf("SC_CLK_TCK")


def fresh_url() -> str:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as db:
        if not db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone():
            db.execute(f"CREATE DATABASE {PG_DB}")
    with psycopg.connect(f"{SERVER}/{PG_DB}", autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        db.execute(f"CREATE SCHEMA {PG_SCHEMA}")
    return f"{SERVER}/{PG_DB}?options=-csearch_path%3D{PG_SCHEMA}"


def wal_lsn(store: SqlStore) -> int:
    with store.backend.reading() as db:
        return int(db.rows("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")[0][0])


def replay(chunks: list[tuple[list[PreparedResource], IndexBlock]]) -> str:
    store = open_store(fresh_url())
    assert isinstance(store, SqlStore)
    try:
        defer_bulk_indexes(store.backend)
        # the first chunk opens the pool's connection: not measured
        store.write_prepared(chunks[0][0], [chunks[0][1]])
        wal, server = wal_lsn(store), backend_cpu()
        me, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        loaded = 0
        with collector_paused():
            batch: list[PreparedResource] = []
            blocks: list[IndexBlock] = []
            for prepared, block in chunks[1:]:
                batch.extend(prepared)
                blocks.append(block)
                if len(batch) >= BATCH_SIZE:
                    loaded += store.write_prepared(batch, blocks)
                    batch, blocks = [], []
            loaded += store.write_prepared(batch, blocks)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        writer = after.ru_utime - me.ru_utime + after.ru_stime - me.ru_stime
        server_cpu = backend_cpu() - server
        wal_mb = (wal_lsn(store) - wal) / 1e6
    finally:
        store.close()
    return (
        f"{loaded:,} written in {wall:.2f} s: CPU s writer {writer:.2f}, server backends"
        f" {server_cpu:.2f}, sum {writer + server_cpu:.2f}; WAL {wal_mb:,.0f} MB"
        f" (load average {os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(bench_load.OUT.glob("*.ndjson")) or bench_load.generate(args.resources)
    tasks = _tasks(files, PostgresBackend.index_block_format)
    chunks = [
        ([tuple.__new__(PreparedResource, fields) for fields in prepared], block)
        for prepared, _, block in filter(None, _prepared_stream(tasks, os.cpu_count() or 1))
    ]
    for _ in range(args.repeat):
        print(replay(chunks), flush=True)


if __name__ == "__main__":
    main()
