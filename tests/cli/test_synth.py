"""``yteso synth`` from the command line: NDJSON per type, deterministic by seed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def synth(out: Path, seed: int) -> None:
    args = ["synth", "--people", "30", "--seed", str(seed), "--out", str(out)]
    subprocess.run(
        [sys.executable, "-m", "yteso", *args],
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_same_seed_same_bytes_other_seed_other_people(tmp_path: Path) -> None:
    synth(tmp_path / "a", 7)
    synth(tmp_path / "b", 7)
    synth(tmp_path / "c", 8)
    files = sorted(p.name for p in (tmp_path / "a").glob("*.ndjson"))
    assert "Patient.ndjson" in files and "Immunization.ndjson" in files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    a = (tmp_path / "a" / "Patient.ndjson").read_bytes()
    assert a != (tmp_path / "c" / "Patient.ndjson").read_bytes()
    assert a.count(b"\n") >= 30
