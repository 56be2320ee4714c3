"""Real-world valid data must validate without issues (no false positives).

Uses Synthea's SMART sample bundles and bulk NDJSON from ../shared/data/synthea.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.conftest import SHARED, shared_path
from yteso.fhir.errors import Issue
from yteso.fhir.validation import validate
from yteso.store.validation_gate import resource_issues

SYNTHEA = SHARED / "data" / "synthea"


def _bundles() -> list[Path]:
    return sorted((SYNTHEA / "smart-generated-sample-data-R4").glob("*.json"))[:6]


def _ndjson() -> list[Path]:
    folder = SYNTHEA / "smart-sample-bulk-fhir-10-patients"
    return [p for p in sorted(folder.glob("*.ndjson")) if p.name != "log.ndjson"]


def _problems(issues: list[Issue]) -> list[Issue]:
    """Errors and warnings; Synthea's own and US Core extensions are unknown here, which is
    information, and R4's dom-6 (no narrative) is a warning Synthea's resources all get."""
    return [i for i in issues if i.severity != "information" and "dom-6" not in i.diagnostics]


@pytest.mark.parametrize("path", _bundles(), ids=lambda p: p.name[:24])
def test_synthea_bundles_are_valid(path: Path) -> None:
    bundle = orjson.loads(path.read_bytes())
    assert _problems(validate(bundle)) == []
    assert _problems(resource_issues(bundle)) == []  # structure and invariants, as on writes
    assert len(bundle["entry"]) > 10


@pytest.mark.parametrize("path", _ndjson(), ids=lambda p: p.name)
def test_bulk_ndjson_resources_are_valid(path: Path) -> None:
    resources = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    assert resources
    problems = [(r.get("id"), issue) for r in resources for issue in _problems(resource_issues(r))]
    assert problems == []


def test_samples_are_present() -> None:
    shared_path("data", "synthea", "smart-generated-sample-data-R4")
    assert _bundles() and _ndjson()
