"""``yteso export`` as an operator runs it: a real process over a store on both databases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from yteso.store import open_store

PATIENTS: list[dict[str, object]] = [
    {"resourceType": "Patient", "id": f"p{i}", "name": [{"family": "Trần"}]} for i in range(3)
]
SEED: list[dict[str, object]] = [
    *PATIENTS,
    {"resourceType": "Organization", "id": "o1", "name": "Trạm Y tế xã"},
]


def run_export(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yteso", "export", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _ids(folder: Path) -> dict[str, list[str]]:
    return {
        path.stem: sorted(orjson.loads(line)["id"] for line in path.read_bytes().splitlines())
        for path in sorted(folder.glob("*.ndjson"))
    }


CASES = [
    ([], {"Organization": ["o1"], "Patient": ["p0", "p2"]}),  # p1 is deleted
    (["--type", "Organization"], {"Organization": ["o1"]}),
    (["--type", "Patient,Organization", "--since", "2999-01-01T00:00:00Z"], {}),
]


@pytest.mark.parametrize(("args", "expected"), CASES)
def test_export_writes_ndjson(
    store_url: str, tmp_path: Path, args: list[str], expected: dict[str, list[str]]
) -> None:
    store = open_store(store_url)
    store.bulk_write([dict(r) for r in SEED])
    with store.session() as session:
        session.delete("Patient", "p1")
    store.close()
    result = run_export("--db", store_url, "--out", str(tmp_path / "out"), *args)
    assert result.returncode == 0, result.stderr
    assert _ids(tmp_path / "out") == expected
    assert f"{sum(map(len, expected.values()))} resources in" in result.stdout


@pytest.mark.parametrize(
    "args", [["--type", "Nonsense"], ["--since", "yesterday"]], ids=["type", "since"]
)
def test_export_refuses_bad_options(tmp_path: Path, args: list[str]) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = run_export("--db", db, "--out", str(tmp_path / "out"), *args)
    assert result.returncode == 2
