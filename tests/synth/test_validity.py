"""Every generated resource passes the platform's validation and loads into the store."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from yteso.fhir.validation import validate
from yteso.store import load_paths, open_store
from yteso.synth import generate, iter_resources

VALIDATED_PEOPLE = 200


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_resources_are_valid(seed: int) -> None:
    problems: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for resource in iter_resources(VALIDATED_PEOPLE, seed):
        kinds[resource["resourceType"]] += 1
        for issue in validate(resource):
            problems[f"{resource['resourceType']}: {issue.diagnostics} {issue.expression}"] += 1
    assert not problems, problems.most_common(10)
    assert kinds["Patient"] == VALIDATED_PEOPLE
    assert {"Encounter", "Condition", "Observation", "MedicationRequest"} <= set(kinds)


def test_output_loads_with_zero_failures(store_url: str, tmp_path: Path) -> None:
    report = generate(150, 5, tmp_path / "out")
    store = open_store(store_url)
    try:
        loaded = load_paths(store, sorted((tmp_path / "out").glob("*.ndjson")), workers=0)
    finally:
        store.close()
    assert loaded.failed == 0, loaded.failures[:5]
    assert loaded.loaded == report.resources
