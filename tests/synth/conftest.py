"""Generated samples shared by the synth tests (read-only), parsed lazily per resource type.

Parsed FHIR JSON is large (a few KB per resource), so the 10,000-person sample serves the
distribution tests on Patient and Condition, and a 3,000-person sample the record-level tests.
"""

from __future__ import annotations

import gc
from pathlib import Path

import orjson
import pytest

from yteso.synth import SynthReport, generate

SAMPLE_PEOPLE = 10_000
SMALL_PEOPLE = 3_000


class ParsedFiles(dict[str, list[dict]]):
    """``files["Patient"]`` parses ``Patient.ndjson`` on first use and keeps it."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def __missing__(self, resource_type: str) -> list[dict]:
        path = self.folder / f"{resource_type}.ndjson"
        gc.disable()  # many long-lived dicts: keep the cyclic GC from rescanning them
        try:
            with path.open("rb") as handle:
                items = [orjson.loads(line) for line in handle]
        finally:
            gc.enable()
        gc.freeze()
        self[resource_type] = items
        return items

    def types(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.ndjson"))


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SynthReport:
    return generate(SAMPLE_PEOPLE, 7, tmp_path_factory.mktemp("synth-sample"))


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> SynthReport:
    return generate(SMALL_PEOPLE, 11, tmp_path_factory.mktemp("synth-small"))


@pytest.fixture(scope="session")
def resources(sample: SynthReport) -> ParsedFiles:
    return ParsedFiles(sample.out_dir)


@pytest.fixture(scope="session")
def small_resources(small_sample: SynthReport) -> ParsedFiles:
    return ParsedFiles(small_sample.out_dir)
