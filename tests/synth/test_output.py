"""Output shape: one file per type, resolvable references, determinism, streaming."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from yteso.synth import SynthReport, generate, iter_resources

LINE_HEAD = re.compile(rb'^\{"resourceType":"(\w+)","id":"([A-Za-z0-9.\-]+)"', re.MULTILINE)
REFERENCE = re.compile(rb'"reference":"([^"]+)"')


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


def test_one_file_per_type_and_all_references_resolve(small_sample: SynthReport) -> None:
    # Regexes over the compact bytes instead of parsing 70,000 resources: every Reference in
    # orjson output is '"reference":"Type/id"', and every line starts with type and id.
    known: set[bytes] = set()
    cited: set[bytes] = set()
    counts: dict[str, int] = {}
    for path in sorted(small_sample.out_dir.glob("*.ndjson")):
        data = path.read_bytes()
        heads = LINE_HEAD.findall(data)
        assert len(heads) == data.count(b"\n")
        assert {kind for kind, _ in heads} == {path.stem.encode()}
        known.update(kind + b"/" + rid for kind, rid in heads)
        cited.update(REFERENCE.findall(data))
        counts[path.stem] = len(heads)
    assert counts == small_sample.counts
    assert len(known) == small_sample.resources, "ids are not unique"
    assert counts["Patient"] == small_sample.people
    assert not cited - known


def test_reference_regex_sees_what_a_parser_sees(small_resources: dict[str, list[dict]]) -> None:
    for resource in small_resources["Encounter"][:200]:
        raw = orjson.dumps(resource)
        assert sorted(REFERENCE.findall(raw)) == sorted(r.encode() for r in references(resource))


@pytest.mark.parametrize("seed", [1, 2])
def test_same_seed_gives_byte_identical_files(tmp_path: Path, seed: int) -> None:
    generate(400, seed, tmp_path / "a")
    generate(400, seed, tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_other_seed_gives_other_people(tmp_path: Path) -> None:
    generate(300, 1, tmp_path / "a")
    generate(300, 2, tmp_path / "b")
    assert (tmp_path / "a/Patient.ndjson").read_bytes() != (
        tmp_path / "b/Patient.ndjson"
    ).read_bytes()


def test_iter_resources_matches_the_files(tmp_path: Path) -> None:
    report = generate(300, 3, tmp_path)
    streamed = list(iter_resources(300, 3))
    assert len(streamed) == report.resources
    patients = [r["id"] for r in streamed if r["resourceType"] == "Patient"]
    assert len(patients) == 300


def test_progress_reaches_total(tmp_path: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    generate(1500, 1, tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (1500, 1500)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_same_bytes_in_another_process_with_another_hash_seed(tmp_path: Path) -> None:
    generate(300, 9, tmp_path / "here", duplicates=0.1)
    script = "import sys; from pathlib import Path; from yteso.synth import generate; "
    script += "generate(300, 9, Path(sys.argv[1]), duplicates=0.1)"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "there")], env=env, check=True)
    assert digests(tmp_path / "here") == digests(tmp_path / "there")
