"""``yteso export`` as an operator runs it: a real process over a store on both databases."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner, Result

from tests.api.test_bulk_export import observation
from tests.cli.yteso_process import run_yteso
from yteso.cli.main import app
from yteso.store import open_store

PATIENTS: list[dict[str, object]] = [
    {"resourceType": "Patient", "id": f"p{i}", "name": [{"family": "Trần"}]} for i in range(3)
]
SEED: list[dict[str, object]] = [
    *PATIENTS,
    {"resourceType": "Organization", "id": "o1", "name": "Trạm Y tế xã"},
]


def run_export(*args: str) -> subprocess.CompletedProcess[str]:
    return run_yteso("export", *args, timeout=120)


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


LEVELS_SEED: list[dict[str, object]] = [
    *SEED,
    observation("p0-bp", "p0", "vital-signs"),
    observation("p0-lab", "p0", "laboratory"),
    observation("p2-bp", "p2", "vital-signs"),
    {
        "resourceType": "Group",
        "id": "g1",
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": "Patient/p2"}}],
    },
]
OBSERVATIONS = ["p0-bp", "p0-lab", "p2-bp"]
EVERYTHING = {
    "Group": ["g1"],
    "Observation": OBSERVATIONS,
    "Organization": ["o1"],
    "Patient": ["p0", "p2"],
}
LEVELS = [
    # the same selections as $export at Patient and Group level, with _typeFilter
    (["--patient"], {"Observation": OBSERVATIONS, "Patient": ["p0", "p2"]}),
    (["--group", "g1"], {"Observation": ["p2-bp"], "Patient": ["p2"]}),
    (["--group", "g1", "--type", "Observation"], {"Observation": ["p2-bp"]}),
    (
        ["--type-filter", "Observation?category=laboratory"],
        {**EVERYTHING, "Observation": ["p0-lab"]},
    ),
    (
        [
            "--type", "Observation",
            "--type-filter", "Observation?subject=Patient/p2",
            "--type-filter", "Observation?category=laboratory",
        ],
        {"Observation": ["p0-lab", "p2-bp"]},
    ),
    (
        ["--patient", "--type-filter", "Observation?category=vital-signs"],
        {"Observation": ["p0-bp", "p2-bp"], "Patient": ["p0", "p2"]},
    ),
]  # fmt: skip


def run_in_process(*args: str) -> Result:
    """The same command in this process (the levels need many runs; one process is enough)."""
    return CliRunner().invoke(app, ["export", *args])


@pytest.fixture
def levels_db(store_url: str) -> str:
    store = open_store(store_url)
    store.bulk_write([dict(r) for r in LEVELS_SEED])
    with store.session() as session:
        session.delete("Patient", "p1")
    store.close()
    return store_url


@pytest.mark.parametrize(("args", "expected"), LEVELS)
def test_export_levels_and_type_filters(
    levels_db: str, tmp_path: Path, args: list[str], expected: dict[str, list[str]]
) -> None:
    result = run_in_process("--db", levels_db, "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 0, result.output
    assert _ids(tmp_path / "out") == expected


REFUSED = [
    (["--type-filter", "garbage"], "--type-filter"),
    (["--type-filter", "Observation?not-a-param=1"], "not-a-param"),
    (["--type", "Patient", "--type-filter", "Observation?code=x"], "--type-filter"),
    (["--group", "nope"], "Group/nope"),
    (["--patient", "--group", "g1"], "--patient"),
]


@pytest.mark.parametrize(("args", "message"), REFUSED)
def test_export_refuses_bad_levels_and_filters(
    levels_db: str, tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_in_process("--db", levels_db, "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()
