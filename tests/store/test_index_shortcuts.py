"""The extraction shortcuts change no index row.

Differential: every resource of the Synthea samples (../shared/data/synthea) and of the
synthetic population is indexed with and without skipping absent keys, and ``_content``
folded part by part must equal folding the joined text.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import orjson
import pytest

from tests.conftest import shared_path
from yteso.fhir.types import Json
from yteso.store.index_rows import _collect_strings, extract_index_rows, indexed_params
from yteso.store.text_folding import _fold, fold_text
from yteso.synth import iter_resources

_PER_FILE = 1500  # keeps the test to a few seconds; every resource type is still covered


def _synthea_resources() -> Iterator[Json]:
    root = shared_path("data", "synthea")
    for path in sorted((root / "smart-sample-bulk-fhir-10-patients").glob("*.000.ndjson")):
        with path.open("rb") as lines:
            for line in islice(lines, _PER_FILE):
                yield orjson.loads(line)
    for path in sorted((root / "smart-generated-sample-data-R4").glob("*.json"))[:4]:
        for entry in orjson.loads(path.read_bytes()).get("entry", []):
            yield entry["resource"]


def _synthetic_resources() -> Iterator[Json]:
    return iter_resources(30, 7)


@pytest.mark.parametrize("source", [_synthea_resources, _synthetic_resources])
def test_skip_gives_the_same_rows(source: object) -> None:
    assert callable(source)
    checked = skipped = 0
    for resource in source():
        fast = extract_index_rows(resource)
        full = extract_index_rows(resource, skip_absent=False)
        assert fast == full, resource.get("id")
        checked += 1
        present = frozenset(resource)
        params = indexed_params(resource["resourceType"])
        skipped += sum(p.keys is not None and p.keys.isdisjoint(present) for p in params)
    assert checked > 100
    assert skipped > checked  # the skip does happen: more than one parameter per resource


def test_skip_keeps_extension_only_primitives() -> None:
    # ``_birthDate`` alone (a primitive with only an extension) must still be evaluated
    patient = {
        "resourceType": "Patient",
        "_birthDate": {"extension": [{"url": "http://example.org/x", "valueString": "?"}]},
        "deceasedBoolean": True,
    }
    assert extract_index_rows(patient) == extract_index_rows(patient, skip_absent=False)


def _content_by_parts(strings: list[str]) -> str:
    return " ".join(part for part in map(fold_text, strings) if part)


@pytest.mark.parametrize(
    "strings",
    [
        ["Nguyễn Văn", "Đặng"],
        ["  ", "a\tb ", "\u0301x", "İstanbul", "STRASSE straße"],
        ["x" * 300, "Bệnh viện " * 10],
        ["", "ς", "ΣΑΣ"],
    ],
)
def test_content_folded_by_parts_equals_folded_whole(strings: list[str]) -> None:
    assert _content_by_parts(strings) == _fold(" ".join(strings))


def _strings_plainly(value: object) -> list[str]:
    """The plain recursion ``_collect_strings`` unrolls: every string, document order, none
    under machinery keys or in an object holding the narrative ``div``."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _strings_plainly(item)]
    if isinstance(value, dict) and "div" not in value:
        skipped = {"id", "meta", "resourceType", "reference", "system", "url", "div"}
        return [t for k, v in value.items() if k not in skipped for t in _strings_plainly(v)]
    return []


@pytest.mark.parametrize("source", [_synthea_resources, _synthetic_resources])
def test_content_folding_over_samples(source: object) -> None:
    assert callable(source)
    for resource in source():
        strings: list[str] = []
        _collect_strings(resource, strings)
        assert strings == _strings_plainly(resource), resource.get("id")
        assert _content_by_parts(strings) == _fold(" ".join(strings)), resource.get("id")


def test_content_strings_of_odd_json() -> None:
    odd = {
        "resourceType": "Basic",
        "a": [["x", {"b": "y", "id": "no"}], 1.5, True, None, 3],
        "c": {"d": [{"div": "<div>no</div>", "e": "no"}, "z"]},
        "meta": {"tag": [{"code": "no"}]},
    }
    strings: list[str] = []
    _collect_strings(odd, strings)
    assert strings == ["x", "y", "z"] == _strings_plainly(odd)


def test_one_live_union_branch_still_deduplicates() -> None:
    # ``Observation.code | Observation.component.code``: only the component branch can find
    # something here, and its two equal codes are one item of the union
    code = {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "component": [{"code": code}, {"code": code}],
    }
    rows = extract_index_rows(observation)
    assert rows == extract_index_rows(observation, skip_absent=False)
    assert [param for _, param, _ in rows].count("combo-code") == 1
