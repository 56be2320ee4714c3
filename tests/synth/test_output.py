"""Output shape: one file per type, resolvable references, determinism, streaming."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from yteso.synth import SynthReport, generate, iter_resources


def references(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_one_file_per_type_with_matching_counts(
    sample: SynthReport, resources: dict[str, list[dict]]
) -> None:
    assert {name: len(items) for name, items in resources.items()} == sample.counts
    for name, items in resources.items():
        assert {r["resourceType"] for r in items} == {name}
    assert sample.counts["Patient"] == sample.people


def test_all_references_resolve_and_ids_are_unique(resources: dict[str, list[dict]]) -> None:
    known = set()
    for name, items in resources.items():
        ids = {f"{name}/{r['id']}" for r in items}
        assert len(ids) == len(items), f"duplicate ids in {name}"
        known |= ids
    dangling = {ref for items in resources.values() for r in items for ref in references(r)} - known
    assert not dangling


@pytest.mark.parametrize("seed", [1, 2])
def test_same_seed_gives_byte_identical_files(tmp_path: Path, seed: int) -> None:
    generate(800, seed, tmp_path / "a")
    generate(800, seed, tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_other_seed_gives_other_people(tmp_path: Path) -> None:
    generate(300, 1, tmp_path / "a")
    generate(300, 2, tmp_path / "b")
    assert (tmp_path / "a/Patient.ndjson").read_bytes() != (
        tmp_path / "b/Patient.ndjson"
    ).read_bytes()


def test_iter_resources_matches_the_files(tmp_path: Path) -> None:
    report = generate(500, 3, tmp_path)
    streamed = list(iter_resources(500, 3))
    assert len(streamed) == report.resources
    patients = [r["id"] for r in streamed if r["resourceType"] == "Patient"]
    assert len(patients) == 500


def test_progress_reaches_total(tmp_path: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    generate(2500, 1, tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (2500, 2500)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
