"""Every generated resource passes the platform's validation (structure and FHIRPath invariants)
and the output loads into the store with zero failures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from yteso.fhir.validation import validate
from yteso.fhirpath.invariants import check_invariants
from yteso.store import load_paths, open_store
from yteso.synth import generate, iter_resources

VALIDATED_PEOPLE = 200


@pytest.mark.parametrize(("seed", "duplicates"), [(1, 0.0), (2, 0.3)])
def test_generated_resources_are_valid(seed: int, duplicates: float) -> None:
    problems: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for number, resource in enumerate(
        iter_resources(VALIDATED_PEOPLE, seed, duplicates=duplicates)
    ):
        kinds[resource["resourceType"]] += 1
        # FHIRPath invariants are slow to evaluate: every 4th resource (all types occur)
        invariants = check_invariants(resource) if number % 4 == 0 else []
        for issue in validate(resource) + invariants:
            if issue.severity in ("error", "fatal"):  # dom-6 (no narrative) is a warning
                problems[f"{resource['resourceType']}: {issue.diagnostics} {issue.expression}"] += 1
    assert not problems, problems.most_common(10)
    assert kinds["Patient"] >= VALIDATED_PEOPLE
    expected = {"Encounter", "Condition", "Observation", "MedicationRequest", "Immunization"}
    assert expected <= set(kinds)


def test_output_loads_with_zero_failures(store_url: str, tmp_path: Path) -> None:
    report = generate(60, 5, tmp_path / "out", duplicates=0.1)
    store = open_store(store_url)
    try:
        loaded = load_paths(store, sorted((tmp_path / "out").glob("*.ndjson")), workers=0)
    finally:
        store.close()
    assert loaded.failed == 0, loaded.failures[:5]
    assert loaded.loaded == report.resources
