"""``yteso load`` as an operator runs it: a real process over NDJSON and Bundle files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson

from tests.cli.yteso_process import run_yteso
from yteso.store import open_store

PATIENTS = [
    {"resourceType": "Patient", "id": f"p{i}", "name": [{"family": "Trần", "given": ["Văn"]}]}
    for i in range(5)
]
INVALID = {"resourceType": "Patient", "id": "bad", "birthDate": "12/05/1990"}
BUNDLE = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {
            "fullUrl": "urn:uuid:3d7f0e0e-5b8a-4b8e-9a57-2f1a0c9b1d01",
            "resource": {"resourceType": "Organization", "name": "Trạm Y tế xã Tân Thành"},
            "request": {"method": "POST", "url": "Organization"},
        }
    ],
}


def run_load(*args: str) -> subprocess.CompletedProcess[str]:
    return run_yteso("load", *args)


def test_load_reports_rejects_and_stores_the_rest(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    lines = [orjson.dumps(r) for r in [*PATIENTS, INVALID]]
    (data / "Patient.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    (data / "bundle.json").write_bytes(orjson.dumps(BUNDLE))
    url = f"sqlite:///{tmp_path / 'load.db'}"

    result = run_load(str(data), "--db", url)

    assert result.returncode == 1, result.stderr  # one resource was rejected
    assert "Loaded 6" in result.stderr and "1 rejected" in result.stderr
    assert "Patient.birthDate" in result.stderr  # the rejection names the element
    store = open_store(url)
    try:
        assert store.counts() == {"Patient": 5, "Organization": 1}
        assert store.read("Patient", "p3").resource()["name"][0]["family"] == "Trần"
    finally:
        store.close()
