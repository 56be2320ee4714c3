"""One generated sample per test session, shared by the synth tests (they only read it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from yteso.synth import SynthReport, generate

SAMPLE_PEOPLE = 10_000
SAMPLE_SEED = 7


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SynthReport:
    out = tmp_path_factory.mktemp("synth-sample")
    return generate(SAMPLE_PEOPLE, SAMPLE_SEED, out)


def read_ndjson(path: Path) -> Iterator[dict]:
    with path.open("rb") as handle:
        for line in handle:
            yield orjson.loads(line)


@pytest.fixture(scope="session")
def resources(sample: SynthReport) -> dict[str, list[dict]]:
    return {path.stem: list(read_ndjson(path)) for path in sorted(sample.out_dir.glob("*.ndjson"))}
