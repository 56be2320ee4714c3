"""The example in docs/synthetic-data.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO


def test_docs_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (REPO / "docs" / "synthetic-data.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "synthetic-data.md", "exec"), {})
    assert (tmp_path / "synth-out" / "Patient.ndjson").exists()
    assert "people" in capsys.readouterr().out
