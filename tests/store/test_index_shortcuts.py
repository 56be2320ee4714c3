"""The extraction shortcuts change no index row.

Differential: every resource of the Synthea samples (../shared/data/synthea), of the
synthetic population and of ``bench/bench_load.py``'s generated data is indexed by the fast
path (inline key reads, appending builders) and by the general one (every expression through
the FHIRPath engine, the :mod:`index_values` generators), with and without skipping absent
keys: the row lists must be equal, in the same order (composite rows included: read inline by
``fast_composite_rows``, through the engine by ``composite_rows``). ``_content`` folded part
by part, word by word and as a whole must be equal too.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from itertools import islice

import orjson
import pytest

from tests.conftest import REPO, shared_path
from tests.store.search_fixtures import ETHNIC, ETHNIC_SEARCH_PARAMETER
from yteso.fhir.types import Json
from yteso.store.composite_rows import ELEMENT
from yteso.store.custom_params import definition_from_resource, register
from yteso.store.index_rows import _collect_strings, extract_index_rows, indexed_params
from yteso.store.index_values import string_values
from yteso.store.shared_rows import unshared
from yteso.store.text_folding import _fold, fold_parts, fold_text, fold_words
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


def _bench_load_resources() -> Iterator[Json]:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import bench_load
    finally:
        sys.path.remove(str(REPO / "bench"))
    rng = random.Random(7)
    for n in range(60):
        subject, enc = f"Patient/pat-{n}", f"Encounter/enc-{n}"
        yield bench_load.patient(rng, n)
        yield bench_load.encounter(rng, n, subject)
        for k in range(5):
            yield bench_load.observation(rng, n * 5 + k, subject, enc)
        yield bench_load.condition(rng, n, subject, enc)


_SOURCES = [_synthea_resources, _synthetic_resources, _bench_load_resources]


@pytest.mark.parametrize("source", _SOURCES)
def test_fast_path_gives_the_general_rows(source: object) -> None:
    assert callable(source)
    checked = composites = 0
    for resource in source():
        resource = orjson.loads(orjson.dumps(resource))  # as the parser gives it
        general = extract_index_rows(resource, general=True)
        assert extract_index_rows(resource) == general, resource.get("id")
        assert extract_index_rows(resource, skip_absent=False) == general, resource.get("id")
        checked += 1
        composites += sum(1 for table, _, _ in general if table.endswith(ELEMENT))
    assert checked > 400
    assert composites > 100  # the composite rows are compared too


@pytest.mark.parametrize(
    "resource",
    [
        # a choice value's extensions: the engine's typed nodes, not the one-key read
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "effectiveDateTime": "2024-01-02",
            "_effectiveDateTime": {"extension": [{"url": "http://e.org/x", "valueCode": "y"}]},
        },
        {"resourceType": "Observation", "status": "final", "valueString": "not a quantity"},
        {
            "resourceType": "Observation",
            "status": "final",
            "valueQuantity": {"value": 5, "unit": "mg", "system": "http://unitsofmeasure.org"},
            "effectivePeriod": {"start": "2024-01-02"},
            "meta": {"tag": [{"system": "http://e.org/t", "code": "t1"}], "source": "s#1"},
        },
        {"resourceType": "Condition", "onsetAge": {"value": 40, "unit": "a"}},
        {"resourceType": "Condition", "onsetDateTime": "2020", "subject": {"reference": "#p"}},
    ],
)
def test_fast_path_edge_shapes(resource: Json) -> None:
    general = extract_index_rows(resource, general=True)
    assert extract_index_rows(resource) == general
    assert extract_index_rows(resource, skip_absent=False) == general


_QTY = {"value": 120, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
_CODE = {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}
_CONCEPT = {"coding": [{"system": "http://snomed.info/sct", "code": "1"}], "text": "A"}


@pytest.mark.parametrize(
    "resource",
    [
        {  # null placeholders and a non-object in the element list keep the ordinals
            "resourceType": "Observation",
            "code": _CODE,
            "valueQuantity": _QTY,
            "component": [
                None,
                {"code": _CODE, "valueQuantity": _QTY},
                "odd",
                {"code": _CODE},  # no value: no rows for this element
                {"code": _CODE, "valueCodeableConcept": _CONCEPT},
                {"valueQuantity": _QTY},
            ],
        },
        {  # a component value's extensions: the engine decides
            "resourceType": "Observation",
            "component": [
                {"code": _CODE, "valueQuantity": _QTY},
                {"code": _CODE, "valueString": "x", "_valueString": {"id": "e"}},
                {"code": _CODE, "_code": {"id": "c"}, "valueQuantity": _QTY},
            ],
        },
        {  # the element list's extensions
            "resourceType": "Observation",
            "component": [{"code": _CODE, "valueQuantity": _QTY}],
            "_component": [{"id": "x"}],
        },
        {"resourceType": "Observation", "code": _CODE, "valuePeriod": {"start": "2024"}},
        {
            "resourceType": "Group",
            "characteristic": [
                {"code": _CODE, "valueBoolean": True, "exclude": False},
                {"code": _CODE, "valueCodeableConcept": _CONCEPT},
                {"code": _CODE, "valueQuantity": _QTY},
                {"code": _CODE, "valueReference": {"reference": "Patient/1"}},
            ],
        },
        {
            "resourceType": "DocumentReference",
            "relatesTo": [{"code": "replaces", "target": {"reference": "DocumentReference/a"}}],
        },
        {
            "resourceType": "ValueSet",
            "useContext": [
                {"code": {"code": "focus"}, "valueCodeableConcept": _CONCEPT},
                {"code": {"code": "age"}, "valueQuantity": _QTY},
                {"code": {"code": "age"}, "valueRange": {"low": _QTY}},
            ],
        },
        {
            "resourceType": "MolecularSequence",
            "referenceSeq": {"chromosome": _CONCEPT, "windowStart": 1, "windowEnd": 9},
            "variant": [{"start": 2, "end": 3}, {"start": 4}],
        },
    ],
)
def test_fast_composite_rows_edge_shapes(resource: Json) -> None:
    general = extract_index_rows(resource, general=True)
    assert any(table.endswith(ELEMENT) for table, _, _ in general)
    assert extract_index_rows(resource) == general
    assert extract_index_rows(resource, skip_absent=False) == general


def test_plans_follow_custom_parameters() -> None:
    patient = {"resourceType": "Patient", "extension": [{"url": ETHNIC, "valueCode": "kinh"}]}
    assert not [row for row in extract_index_rows(patient) if row[1] == "ethnic"]
    definition = definition_from_resource(ETHNIC_SEARCH_PARAMETER)
    assert definition is not None
    try:
        register([definition])
        for general in (False, True):
            rows = extract_index_rows(patient, general=general)
            assert [row for row in rows if row[1] == "ethnic"] == [
                ("token", "ethnic", (None, "kinh", None))
            ]
    finally:
        register([])
    assert not [row for row in extract_index_rows(patient) if row[1] == "ethnic"]


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
        ["\u212a\u212b İ ǅ", "ﬁ", "Ⅻ ⓐ"],
        ["Nguyễn 123-AB", "Đặng", "北京 Ελλάδα"],
        # folds left non-ASCII (Cherokee casefolds to upper case) beside raw ASCII parts
        ["ꭰ Đặng", "ABC  Def", "Ꭰ", "x\x1f y"],
    ],
)
def test_content_folded_by_parts_equals_folded_whole(strings: list[str]) -> None:
    assert _content_by_parts(strings) == _fold(" ".join(strings))
    assert fold_words(" ".join(strings)) == _fold(" ".join(strings))
    assert fold_parts(strings) == _fold(" ".join(strings))


_EXTRA = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l"})


@pytest.mark.parametrize(
    "text", ["Đặng Đức", "đđĐ", "Øresund Łódź ðe", "Nguyễn Thị Ánh", "ﬁ Å Ǆ ǅ", "x"]
)
def test_folding_letters_without_decomposition(text: str) -> None:
    # the str.translate table the str.replace chain replaced, as the reference
    import re
    import unicodedata

    marks = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
    reference = unicodedata.normalize("NFD", text.translate(_EXTRA))
    expected = " ".join(marks.sub("", reference).casefold().split())
    assert _fold(text) == fold_text(text) == fold_words(text) == expected


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


@pytest.mark.parametrize("source", _SOURCES)
def test_content_folding_over_samples(source: object) -> None:
    assert callable(source)
    for resource in source():
        strings: list[str] = []
        _collect_strings(resource, strings)
        assert strings == _strings_plainly(resource), resource.get("id")
        whole = _fold(" ".join(strings))
        assert _content_by_parts(strings) == whole, resource.get("id")
        assert fold_words(" ".join(strings)) == whole, resource.get("id")
        assert fold_parts(strings) == whole, resource.get("id")


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
    with unshared():  # combo-code stores its own rows (it reads code's and component-code's)
        rows = extract_index_rows(observation)
        assert rows == extract_index_rows(observation, skip_absent=False)
    assert [param for _, param, _ in rows].count("combo-code") == 1
    shared = [param for _, param, _ in extract_index_rows(observation)]
    assert shared.count("combo-code") == 0 and shared.count("component-code") == 2


@pytest.mark.parametrize("keys", [1, 2, 3, 5, 6, 7, 9])
def test_string_values_of_any_other_object(keys: int) -> None:
    # neither a name nor an address: every key's strings but extension/id/system/use, whatever
    # their number (compiled, the parts once had to be a 5- or 7-tuple: a TypeError otherwise)
    value = {f"k{n}": f"Văn {n}" for n in range(keys)} | {"id": "x", "use": "official"}
    rows = list(string_values("x", [value]))
    assert rows == [("string", "x", (f"van {n}", f"Văn {n}")) for n in range(keys)]
