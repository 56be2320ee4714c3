"""``yteso serve --demo`` as a user runs it: a real process, a real port, demo data loaded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live_server import free_port


def test_serve_demo_starts_with_data_on_the_embedded_default(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "YTESO_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "yteso", "serve", "--demo", "--demo-people", "50"]
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.3)
        assert (tmp_path / "home" / "yteso.db").exists()
        assert httpx.get(base + "/fhir/Patient?_summary=count").status_code == 401
        assert httpx.get(base + "/fhir/metadata").status_code == 200
        printed = log_path.read_text().splitlines()
        token = printed[printed.index(next(p for p in printed if "Demo access token" in p)) + 1]
        auth = {"Authorization": f"Bearer {token.strip()}"}
        patients = httpx.get(base + "/fhir/Patient?_summary=count", headers=auth).json()
        assert patients["resourceType"] == "Bundle"
        assert patients["total"] >= 50
        assert "Patient" in httpx.get(base + "/").text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
