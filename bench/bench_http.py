"""HTTP benchmarks 2 and 3 of issue 2, against uvicorn over real TCP.

2. Transaction Bundles of 50 resources (10 Patients + 40 Observations referencing them by
   ``urn:uuid``) POSTed by 4 concurrent clients: resources/s, with the ratio to a bare endpoint
   of the same stack that reads the same bodies and answers a canned response (the HTTP
   ceiling), and to the 2,000 resources/s target.
3. read and vread latency p50/p99 against a bare endpoint of the same stack (Starlette under
   uvicorn) returning the same bytes from memory. Target: p50 at most 2x the bare endpoint.

The server runs in its own process (one uvicorn worker); clients are httpx with keep-alive.

    .venv/bin/python bench/bench_http.py [--db sqlite|postgresql|both] [--bundles 40]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

PG_ADMIN = os.environ.get("YTESO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = os.environ.get("YTESO_BENCH_PG_DB", "yteso_bench")  # one per helper, if several
FHIR_JSON = {"Content-Type": "application/fhir+json"}
CLIENTS = 4
TARGET_RESOURCES_PER_S = 2000


# ---------------------------------------------------------------- server side (subprocess)
def server_app(db_url: str) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    from yteso.api import OPEN_ACCESS_FOR_TESTS, create_fhir_app
    from yteso.store import open_store

    store = open_store(db_url)
    cache: dict[str, bytes] = {}
    canned = orjson.dumps({"resourceType": "Bundle", "type": "transaction-response"})

    async def bare_read(request: Request) -> Response:
        key = request.path_params["id"]
        if key not in cache:  # filled once from the store, then served from memory
            cache[key] = store.read("Patient", key).body
        headers = {"ETag": 'W/"1"', "Last-Modified": "Thu, 26 Nov 2026 00:00:00 GMT"}
        return Response(cache[key], media_type="application/fhir+json", headers=headers)

    async def bare_post(request: Request) -> Response:
        await request.body()
        return Response(canned, media_type="application/fhir+json")

    routes = [
        Route("/bare/Patient/{id}", bare_read),
        Route("/bare/Patient/{id}/_history/{vid}", bare_read),
        Route("/bare", bare_post, methods=["POST"]),
    ]
    fhir = create_fhir_app(store, access=OPEN_ACCESS_FOR_TESTS)
    routes += [Route("/fhir", fhir), Mount("/fhir", app=fhir)]  # POST [base] without a slash
    gc.freeze()  # as `yteso serve` does before serving
    return Starlette(routes=routes)


def app_from_environment() -> Any:
    return server_app(os.environ["YTESO_BENCH_DB"])


def serve(db_url: str, port: int, workers: int) -> None:
    import uvicorn

    os.environ["YTESO_BENCH_DB"] = db_url
    sys.path.insert(0, str(Path(__file__).parent))
    uvicorn.run(
        "bench_http:app_from_environment",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
    )


# ---------------------------------------------------------------- client side
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(db_url: str, workers: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [sys.executable, __file__, "--serve", db_url, "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(command)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/fhir/metadata", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def citizen_id(n: int) -> str:
    """A CCCD consistent with the birth date below: Hà Nội (001), female, birth year."""
    year = 1950 + n % 60
    return f"001{1 if year < 2000 else 3}{year % 100:02d}{n % 1_000_000:06d}"


def patient(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [
            {"system": "http://fhir.hl7.org.vn/core/sid/cccd", "value": citizen_id(n)},
        ],
        "active": True,
        "name": [{"use": "official", "family": "Nguyễn", "given": ["Thị", "Minh", "Anh"]}],
        "telecom": [{"system": "phone", "value": f"09{n % 100000000:08d}", "use": "mobile"}],
        "gender": "female",
        "birthDate": f"{1950 + n % 60}-0{1 + n % 9}-1{n % 9}",
        "address": [
            {
                "use": "home",
                "line": [f"Số {n % 300} đường Lê Lợi"],
                "city": "Huế",
                "country": "VN",
            }
        ],
    }


def observation(subject: str, n: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "Mạch"},
        "subject": {"reference": subject},
        "effectiveDateTime": f"2026-0{1 + n % 9}-1{n % 9}T08:30:00+07:00",
        "valueQuantity": {
            "value": 60 + n % 40,
            "unit": "/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    }


def transaction_bundle(seed: int) -> bytes:
    entries = []
    patients = [f"urn:uuid:{uuid.uuid4()}" for _ in range(10)]
    for i, full_url in enumerate(patients):
        resource = patient(seed * 10 + i)
        entries.append(
            {
                "fullUrl": full_url,
                "resource": resource,
                "request": {"method": "POST", "url": "Patient"},
            }
        )
    for i in range(40):
        resource = observation(patients[i % 10], seed * 40 + i)
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": resource,
                "request": {"method": "POST", "url": "Observation"},
            }
        )
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


def post_concurrently(url: str, bodies: list[bytes], clients: int, minimal: bool = False) -> float:
    """Seconds for ``clients`` threads to POST all ``bodies`` (split between them)."""
    errors: list[str] = []
    headers = {**FHIR_JSON, "Prefer": "return=minimal"} if minimal else FHIR_JSON

    def work(chunk: list[bytes]) -> None:
        with httpx.Client(timeout=120) as http:
            for body in chunk:
                response = http.post(url, content=body, headers=headers)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:300]}")

    threads = [threading.Thread(target=work, args=(bodies[i::clients],)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return elapsed


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_transactions(
    base: str, bundles: int, minimal: bool, server_pid: int | None = None
) -> dict[str, float]:
    warmup = [transaction_bundle(-1 - i) for i in range(CLIENTS)]
    post_concurrently(f"{base}/fhir", warmup, CLIENTS)
    bodies = [transaction_bundle(i) for i in range(bundles)]
    resources = bundles * 50
    cpu = process_cpu_seconds(server_pid) if server_pid else 0.0
    fhir_seconds = post_concurrently(f"{base}/fhir", bodies, CLIENTS, minimal)
    # the server's CPU per resource: what the machine's load moves least (one worker only:
    # with more, the requests run in uvicorn's child processes)
    server_cpu = process_cpu_seconds(server_pid) - cpu if server_pid else 0.0
    bare_seconds = post_concurrently(f"{base}/bare", bodies, CLIENTS)
    rate, bare_rate = resources / fhir_seconds, resources / bare_seconds
    per_cpu = (
        f"; server CPU {server_cpu / resources * 1e6:,.0f} µs per resource" if server_pid else ""
    )
    print(
        f"  transactions{' (Prefer: return=minimal)' if minimal else ''}: {bundles} x 50 "
        f"resources, {CLIENTS} clients: {rate:,.0f} resources/s "
        f"({rate / TARGET_RESOURCES_PER_S:.2f}x the 2,000/s target){per_cpu}; bare POST endpoint "
        f"{bare_rate:,.0f} resources/s; ratio fhir/bare {rate / bare_rate:.3f}"
    )
    return {"rate": rate, "bare_rate": bare_rate, "server_cpu": server_cpu}


def latencies(http: httpx.Client, urls: list[str], rounds: int) -> list[float]:
    out = []
    for i in range(rounds):
        url = urls[i % len(urls)]
        start = time.perf_counter()
        response = http.get(url)
        out.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
    return out


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else max(values)
    )


def bench_reads(base: str, rounds: int) -> dict[str, float]:
    with httpx.Client(base_url=base, timeout=30) as http:
        ids = []
        for i in range(20):
            response = http.post("/fhir/Patient", json=patient(10_000 + i), headers=FHIR_JSON)
            ids.append(response.json()["id"])
        cases = {
            "read": [f"/fhir/Patient/{i}" for i in ids],
            "vread": [f"/fhir/Patient/{i}/_history/1" for i in ids],
            "bare": [f"/bare/Patient/{i}" for i in ids],
        }
        for urls in cases.values():
            latencies(http, urls, 300)  # warm up: connections, caches, code paths
        measured: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(5):  # interleave so drift hits every case alike
            for name, urls in cases.items():
                measured[name] += latencies(http, urls, rounds // 5)
    figures = {}
    for name, values in measured.items():
        figures[f"{name}_p50"] = percentile(values, 50) * 1e3
        figures[f"{name}_p99"] = percentile(values, 99) * 1e3
    for name in ("read", "vread"):
        print(
            f"  {name:5}: p50 {figures[f'{name}_p50']:.3f} ms, "
            f"p99 {figures[f'{name}_p99']:.3f} ms; "
            f"bare p50 {figures['bare_p50']:.3f} ms, p99 {figures['bare_p99']:.3f} ms; "
            f"p50 ratio {figures[f'{name}_p50'] / figures['bare_p50']:.2f}x (target <= 2x), "
            f"p99 ratio {figures[f'{name}_p99'] / figures['bare_p99']:.2f}x"
        )
    return figures


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{PG_DB}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB
    schema = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--bundles", type=int, default=40, help="transaction Bundles to post")
    parser.add_argument("--reads", type=int, default=3000, help="requests per read case")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.workers)
        return
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        with database(kind) as url, running_server(url, args.workers) as (base, pid):
            print(f"{kind}: uvicorn ({args.workers} worker(s)) at {base}")
            bench_reads(base, args.reads)
            server_pid = pid if args.workers == 1 else None
            bench_transactions(base, args.bundles, minimal=False, server_pid=server_pid)
            bench_transactions(base, args.bundles, minimal=True, server_pid=server_pid)


if __name__ == "__main__":
    main()
