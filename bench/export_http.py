"""HTTP ``$export`` end to end, as a Bulk Data client sees it (used by ``bench_export.py --http``).

The server is ``yteso.app.create_app`` (the whole platform, real SMART tokens, the audit log)
under uvicorn in its own process, one worker, over real TCP on 127.0.0.1; it issues one token
(``system/*.rs``) into its home folder before serving. The client (this process, httpx):

1. kick-off ``GET /fhir/$export`` with ``Prefer: respond-async`` (202 + ``Content-Location``);
2. polls the status URL every ``POLL_SECONDS`` until the manifest (200);
3. downloads every ``output[].url`` one after the other, streamed to files, counting lines;
then checks the lines against the manifest's counts and removes the job (``DELETE``).
Time = kick-off to the last byte of the last file; the server's peak RSS growth is read from
``/proc/<pid>/status`` (``VmHWM``) before and after, and its CPU time (user + system) from
``/proc/<pid>/stat``: resources per server CPU-second is the figure a busy machine moves least.

    .venv/bin/python bench/export_http.py --serve URL --port PORT --home DIR   (the server)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

POLL_SECONDS = 0.2
TOKEN_FILE = "token"
SCOPE = "system/*.rs"


def serve(url: str, port: int, home: Path) -> None:
    import uvicorn

    from yteso.app import create_app
    from yteso.auth import SecurityServices
    from yteso.store import open_store

    store = open_store(url)
    security = SecurityServices.open(home / "auth")
    app = create_app(store, security=security, exports_dir=home / "exports")
    token = security.tokens.issue("bench", SCOPE, ttl=3600)
    (home / (TOKEN_FILE + ".tmp")).write_text(token)
    os.replace(home / (TOKEN_FILE + ".tmp"), home / TOKEN_FILE)  # the client waits for it
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(url: str) -> Iterator[tuple[str, str, int]]:
    """(base URL, token, server pid) of a server over the store at ``url``."""
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        home, port = Path(folder), _free_port()
        command = [sys.executable, __file__, "--serve", url, "--port", str(port)]
        process = subprocess.Popen([*command, "--home", folder])
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    ready = (home / TOKEN_FILE).exists()
                    if ready and httpx.get(f"{base}/fhir/metadata", timeout=5).is_success:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the export server did not start")
                time.sleep(0.5)
            yield base, (home / TOKEN_FILE).read_text(), process.pid
        finally:
            process.terminate()
            process.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class HttpExport:
    resources: int
    files: int
    manifest_seconds: float  # kick-off to the manifest
    seconds: float  # kick-off to the last byte of the last file
    bytes: int
    server_rss_growth_mb: float
    server_cpu_seconds: float  # the server process's (PostgreSQL's own backends not included)
    client_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.resources / self.seconds


def _download(http: httpx.Client, output: dict[str, Any], target: Path) -> tuple[int, int]:
    """Lines and bytes of one output file, streamed to ``target``."""
    lines = size = 0
    with http.stream("GET", output["url"]) as response, open(target, "wb") as out:
        if response.status_code != 200:
            raise RuntimeError(f"{output['url']}: {response.status_code} {response.read()[:300]!r}")
        for chunk in response.iter_bytes(1 << 20):
            out.write(chunk)
            lines += chunk.count(b"\n")
            size += len(chunk)
    if lines != output["count"]:
        raise RuntimeError(f"{output['type']}: {lines} lines, the manifest says {output['count']}")
    return lines, size


def http_export(base: str, token: str, pid: int, folder: Path) -> HttpExport:
    """Kick off a system-level export, poll it, download every file; time the whole."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=auth, timeout=600) as http:
        rss_before, cpu_before = peak_rss_mb(pid), cpu_seconds(pid)
        client_before = time.process_time()
        started = time.perf_counter()
        kick = http.get(
            f"{base}/fhir/$export",
            headers={"Prefer": "respond-async", "Accept": "application/fhir+json"},
        )
        if kick.status_code != 202:
            raise RuntimeError(f"kick-off: {kick.status_code} {kick.text[:300]}")
        status_url = kick.headers["Content-Location"]
        while (status := http.get(status_url)).status_code == 202:
            time.sleep(POLL_SECONDS)
        if status.status_code != 200:
            raise RuntimeError(f"status: {status.status_code} {status.text[:300]}")
        manifest_seconds = time.perf_counter() - started
        resources = size = 0
        outputs = status.json()["output"]
        for output in outputs:
            lines, written = _download(http, output, folder / f"{output['type']}.ndjson")
            resources, size = resources + lines, size + written
        seconds = time.perf_counter() - started
        client_cpu = time.process_time() - client_before
        rss_growth, cpu = peak_rss_mb(pid) - rss_before, cpu_seconds(pid) - cpu_before
        http.delete(status_url)  # the job's files go
    return HttpExport(
        resources, len(outputs), manifest_seconds, seconds, size, rss_growth, cpu, client_cpu
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args()
    serve(args.serve, args.port, args.home)


if __name__ == "__main__":
    main()
