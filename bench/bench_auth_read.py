"""What security costs a FHIR read: open access vs a bearer token with its audit record.

    .venv/bin/python bench/bench_auth_read.py [--db sqlite|postgresql|both] [--reads 1000]

In-process (the ASGI app through httpx's ASGITransport, no network), sequential reads of one
Patient, in the same run and interleaved per round (best of 3 rounds counts):

- ``open``: ``create_app(insecure_no_auth=True)``, no token and no audit;
- ``auth, head per batch``: token verified (cached), access checked, an AuditEvent appended with
  a signed tree head after each (the cost before group commit);
- ``auth, group commit``: the server's setting (audit head once a second).

Prints CPU (the whole process) and wall microseconds per read, and each ratio to ``open``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg

from yteso.app import create_app
from yteso.auth import AuditLog, SecurityServices
from yteso.store import open_store
from yteso.store.auth_records import auth_records

PG_BASE = os.environ.get("YTESO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/yteso_test")


async def _reads(app: Any, token: str | None, count: int) -> tuple[float, float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(20):  # warm-up (token cache, connection pool)
            await client.get("/fhir/Patient/p1", headers=headers)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            response = await client.get("/fhir/Patient/p1", headers=headers)
            assert response.status_code == 200, response.text
        return (
            (time.process_time() - cpu) * 1e6 / count,
            (time.perf_counter() - wall) * 1e6 / count,
        )


def run(url: str, reads: int, home: Path) -> None:
    store = open_store(url)
    store.bulk_write([{"resourceType": "Patient", "id": "p1", "name": [{"family": "Tran"}]}])
    security = SecurityServices.open(home / "auth", state=auth_records(store))
    per_batch = dataclasses.replace(
        security, audit=AuditLog(home / "per-batch", security.keys, head_interval=0)
    )
    token = security.tokens.issue("bench", "system/*.rs")
    apps = {
        "open": (create_app(store, security=security, insecure_no_auth=True), None),
        "auth, head per batch": (create_app(store, security=per_batch), token),
        "auth, group commit": (create_app(store, security=security), token),
    }
    best: dict[str, tuple[float, float]] = {}
    for _ in range(3):
        for name, (app, bearer) in apps.items():
            cpu, wall = asyncio.run(_reads(app, bearer, reads))
            old = best.get(name)
            best[name] = (min(cpu, old[0]), min(wall, old[1])) if old else (cpu, wall)
    security.audit.close()
    store.close()
    base_cpu, base_wall = best["open"]
    print(f"\n{url.split(':')[0]}: {reads} reads x 3 rounds, best round, us per read")
    print("| setup | CPU | wall |")
    print("|---|---|---|")
    for name, (cpu, wall) in best.items():
        print(
            f"| {name} | {cpu:.0f} ({cpu / base_cpu:.2f}x) | {wall:.0f} ({wall / base_wall:.2f}x) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--reads", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        if args.db in ("sqlite", "both"):
            run(f"sqlite:///{home}/bench.db", args.reads, home / "sqlite")
        if args.db in ("postgresql", "both"):
            schema = "bench_" + uuid.uuid4().hex[:8]
            with psycopg.connect(PG_BASE, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            try:
                url = PG_BASE + "?options=" + quote(f"-csearch_path={schema}")
                run(url, args.reads, home / "postgresql")
            finally:
                with psycopg.connect(PG_BASE, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
