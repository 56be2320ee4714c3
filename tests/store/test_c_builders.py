"""The C twins of the token, date and reference row builders (``yteso/store/_builders.c``)
give the Python builders' rows.

Differential: every ``token_rows``, ``date_rows`` and ``reference_rows`` call that indexing
all 100,000 bench
resources and every Synthea resource (../shared/data/synthea) makes is replayed on the C
twin and on the Python builder imported from :mod:`index_builders` (the reference), with
the date cache emptied before each side, so each side computes its own spans. Rows must be
equal with their types (``True`` is not ``1``, a ``str`` subclass is not a ``str``). Then
hand-made edge cases and seeded fuzz of date texts, Periods, Timings, token shapes and
references.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from tests.conftest import REPO, shared_path
from yteso import native
from yteso.fhir.types import Json
from yteso.store import index_builders
from yteso.store.index_builders import (
    _QUANTITIES,
    _SPANS,
    _TARGETS,
    _UNIT_SCALES,
    BUILDERS,
    date_rows,
    quantity_rows,
    reference_rows,
    string_rows,
    token_rows,
)
from yteso.store.index_rows import _FAST_PLANS, extract_index_rows
from yteso.store.text_folding import FOLDED

Builder = Callable[[str, list[Any], list[Any]], None]
Call = tuple[str, str, list[Any]]  # (builder kind, param, found)


def _c_module() -> ModuleType:
    module = native.c_extension("yteso.store._builders")
    if module is None:
        message = f"yteso.store._builders not built (native mode {native.mode})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return module


@pytest.fixture(scope="module")
def c_builders() -> ModuleType:
    return _c_module()


def _typed(value: Any) -> Any:
    """``value`` with every leaf's exact type beside it: ``==`` alone takes 1 for True."""
    if type(value) in (tuple, list):
        return (type(value), [_typed(item) for item in value])
    return (type(value), value)


def _rows(builder: Builder, param: str, found: list[Any], *, folds: bool = False) -> Any:
    if folds:  # each side folds its new texts (string_rows folds in C on a miss)
        FOLDED.clear()
    _SPANS.clear()  # each side computes its spans (the C twin shares the Python caches)
    _TARGETS.clear()
    _QUANTITIES.clear()
    _UNIT_SCALES.clear()
    out: list[Any] = []
    builder(param, found, out)
    return _typed(out)


PYTHON_TWINS: dict[str, Builder] = {
    "token": token_rows,
    "date": date_rows,
    "reference": reference_rows,
    "string": string_rows,
    "quantity": quantity_rows,
}


def _same(c_builders: ModuleType, kind: str, param: str, found: list[Any]) -> None:
    python = PYTHON_TWINS[kind]
    twin = getattr(c_builders, f"{kind}_rows")
    folds = kind == "string"
    expected = _rows(python, param, found, folds=folds)
    assert _rows(twin, param, found, folds=folds) == expected, (kind, param, found)


def _recorded_calls(resources: Iterator[Json]) -> Iterator[Call]:
    """The builder calls indexing ``resources`` makes (extraction's own plans, composites
    included), recorded by wrappers put in BUILDERS for the time of the run."""
    calls: list[Call] = []
    saved = dict(BUILDERS)

    def recorder(kind: str) -> Builder:
        def record(param: str, found: list[Any], out: list[Any]) -> None:
            calls.append((kind, param, found))
            saved[kind](param, found, out)

        return record

    BUILDERS.update({kind: recorder(kind) for kind in PYTHON_TWINS})
    _FAST_PLANS.clear()  # plans hold the builders they were made with
    try:
        for resource in resources:
            extract_index_rows(resource)
            yield from calls
            calls.clear()
    finally:
        BUILDERS.update(saved)
        _FAST_PLANS.clear()


def _bench_resources() -> Iterator[Json]:
    """``bench/bench_load.py generate(100_000)``'s resources, in its order (seed 7)."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import bench_load
    finally:
        sys.path.remove(str(REPO / "bench"))
    rng = random.Random(7)
    for n in range(12_500):
        subject, enc = f"Patient/pat-{n}", f"Encounter/enc-{n}"
        batch = [bench_load.patient(rng, n), bench_load.encounter(rng, n, subject)]
        batch += [bench_load.observation(rng, n * 5 + k, subject, enc) for k in range(5)]
        batch.append(bench_load.condition(rng, n, subject, enc))
        for resource in batch:
            yield orjson.loads(orjson.dumps(resource))  # as the parser gives it


def _synthea_resources() -> Iterator[Json]:
    for path in sorted(shared_path("data", "synthea").rglob("*")):
        if path.suffix == ".ndjson":
            for line in path.read_bytes().splitlines():
                if line.strip():
                    yield orjson.loads(line)
        elif path.suffix == ".json":
            for entry in orjson.loads(path.read_bytes()).get("entry", []):
                yield entry["resource"]


def _replay(c_builders: ModuleType, resources: Iterator[Json]) -> dict[str, int]:
    counts = dict.fromkeys(PYTHON_TWINS, 0)
    for kind, param, found in _recorded_calls(resources):
        _same(c_builders, kind, param, found)
        counts[kind] += 1
    return counts


def test_bench_data(c_builders: ModuleType) -> None:
    counts = _replay(c_builders, _bench_resources())
    assert counts["token"] > 300_000 and counts["date"] > 100_000, counts
    assert counts["reference"] > 100_000, counts
    assert counts["string"] > 30_000 and counts["quantity"] > 100_000, counts


def test_synthea_files(c_builders: ModuleType) -> None:
    counts = _replay(c_builders, _synthea_resources())
    assert counts["token"] > 50_000 and counts["date"] > 10_000, counts
    assert counts["reference"] > 10_000, counts
    assert counts["string"] > 1_000 and counts["quantity"] > 1_000, counts


def test_extraction_uses_the_c_twins_and_gives_the_same_rows(c_builders: ModuleType) -> None:
    twins = {kind: getattr(c_builders, f"{kind}_rows") for kind in PYTHON_TWINS}
    assert all(BUILDERS[kind] is twin for kind, twin in twins.items())
    resources = [r for _, r in zip(range(800), _bench_resources(), strict=False)]
    with_c = [extract_index_rows(r) for r in resources]
    BUILDERS.update(PYTHON_TWINS)
    _FAST_PLANS.clear()
    try:
        _SPANS.clear()
        _TARGETS.clear()
        _QUANTITIES.clear()
        _UNIT_SCALES.clear()
        assert [extract_index_rows(r) for r in resources] == with_c
    finally:
        BUILDERS.update(twins)
        _FAST_PLANS.clear()


class Text(str):
    pass


class Mapping(dict[str, Any]):
    pass


class Loud(str):
    def __format__(self, spec: str) -> str:
        return "loud"


_CONCEPT = {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic"}]}
_LONG = "Đ" * 150 + "ấ" * 100 + "x" * 10_000

TOKENS: list[Any] = [
    True,
    False,
    1,
    0,
    1.5,
    None,
    "",
    "code",
    "Đặng Thị Đào",
    _LONG,
    Text("sub"),
    [],
    ["nested"],
    {},
    _CONCEPT,
    {**_CONCEPT, "text": "Huyết áp tâm thu"},
    {**_CONCEPT, "text": ""},
    {"text": "Đái tháo đường"},
    {"text": ""},
    {"text": None},
    {"text": 5},
    {"text": Text("Sub text")},
    {"text": _LONG},
    {"coding": []},
    {"coding": None},
    {"coding": [], "text": "only text"},
    {"coding": None, "text": "only text"},
    {"coding": {}, "text": "a dict"},
    {"coding": "abc"},
    {"coding": [{"code": "a"}, {"system": "s"}, {"code": 5}, {"code": None, "display": "d"}]},
    {"coding": [{"code": "a", "display": "Ngày Đầu"}, {"code": "b", "display": _LONG}]},
    {"coding": [{"code": Text("sub-code"), "display": Text("sub display")}]},
    {"coding": [{"code": "a", "system": 7, "display": 8}]},
    {"coding": [Mapping(code="m")], "text": "t"},
    {"coding": [None], "text": "t"},
    {"coding": [{"code": "a"}], "code": "ignored"},
    {"text": "t", "code": "c"},
    {"code": "male"},
    {"code": "", "system": "http://s", "display": "Nam giới"},
    {"code": 3},
    {"code": None, "display": "d"},
    {"code": Text("sub"), "display": Text("shown")},
    {"value": "0912345678", "system": "phone"},
    {"value": "a@b.vn", "system": "email", "use": "home"},
    {"value": "x", "system": Text("urn:x")},
    {"value": "x", "system": Text("phone")},
    {"value": Text("sub"), "system": "phone"},
    {"value": 5, "system": "http://s"},
    {"value": "", "system": "urn:oid:1.2"},
    {"value": "001", "system": "http://cccd.gov.vn"},
    {"value": "001", "assigner": {"display": "Bộ Công an"}},
    {"value": "001", "type": {"text": "Căn cước"}},
    {"value": "001", "type": {"coding": [{"system": "http://t", "code": "NI"}]}},
    {
        "value": "001",
        "system": "urn:s",
        "type": {
            "text": "Đăng ký",
            "coding": [{"code": "MR"}, {"code": 5}, "x", {"system": "s"}, {"code": Loud("L")}],
        },
    },
    {"value": "001", "type": None},
    {"value": "001", "type": {}},
    {"value": "001", "type": ""},
    {"value": "001", "type": {"coding": {}}},
    {"value": "001", "type": {"coding": None}},
    {"value": "001", "type": {"coding": [Mapping(code="m")]}},
    {"value": "001", "type": Mapping(text="m")},
    {1: "non-str key", "value": "v"},
    {("code",): "tuple key", "code": "c"},
    Mapping(code="c"),
    Mapping(value="v", system="phone"),
]


@pytest.mark.parametrize("value", TOKENS, ids=range(len(TOKENS)))
def test_token_edge_cases(c_builders: ModuleType, value: Any) -> None:
    try:
        expected = _rows(token_rows, "code", [value])
    except (AttributeError, TypeError) as error:  # the Python twin's own failure
        with pytest.raises(type(error)):
            c_builders.token_rows("code", [value], [])
        return
    assert _rows(c_builders.token_rows, "code", [value]) == expected


def test_token_values_together(c_builders: ModuleType) -> None:
    usable = [v for v in TOKENS if _accepted(token_rows, v)]
    _same(c_builders, "token", "identifier", usable)
    _same(c_builders, "token", "identifier", usable[::-1])


DATES = [
    "2021-11-21",
    "2020-02-29",
    "2021-02-29",
    "2000-02-29",
    "1900-02-29",
    "0001-01-01",
    "0002-01-01",
    "9998-12-31",
    "9999-12-31",
    "2021-13-01",
    "2021-00-10",
    "2021-04-31",
    "2021-1-01",
    "２０２１-01-01",
    "2021",
    "2021-07",
    "",
    "202",
    "2021-11-21T09:37:00",
    "2021-11-21T09:37:00Z",
    "2021-11-21T09:37:00+07:00",
    "2021-11-21T09:37:00-05:30",
    "2021-11-21T23:59:59-14:00",
    "0002-01-01T00:00:00+14:00",
    "9998-12-31T23:59:59-14:00",
    "9998-12-31T23:59:59-99:99",
    "2021-11-21T09:37:00+99:99",
    "2021-11-21T09:37:00.1Z",
    "2021-11-21T09:37:00.123Z",
    "2021-11-21T09:37:00.123456+07:00",
    "2021-11-21T09:37:00.1234567Z",
    "2021-11-21T09:37:00.29Z",
    "2021-11-21T09:37:00.000001Z",
    "2021-11-21T09:37:00.0000005Z",
    "2021-11-21T09:37:00.9999999Z",
    "2021-11-21T09:37:00.99999999999999999Z",
    "2021-11-21T09:37:00." + "9" * 400 + "Z",
    "2021-11-21T09:37:00.Z",
    "2021-11-21T09:37:60Z",
    "2016-12-31T23:59:60Z",
    "2021-11-21T24:00:00Z",
    "2021-11-21T09:60:00Z",
    "2021-11-21T09:37Z",
    "2021-11-21T09:37:00z",
    "2021-11-21T09:37:00+0700",
    "2021-11-21T09:37:00+07:00 ",
    "2021-11-21 09:37:00Z",
    "2021-11-21T09:37:00+07:0a",
    "2021-11-21T09:37:00.12a",
    "2021-11-21T09:37:00.١٢Z",
    "2021-11-21T09:37:00Đ",
    "2021-02-29T00:00:00Z",
    "2020-02-29T12:00:00.5-12:00",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999Z",
]

_PERIODS: list[Any] = [
    {"start": "2021-01-01", "end": "2021-12-31T10:00:00+07:00"},
    {"start": "2021-01-01"},
    {"end": "2021-12-31"},
    {"start": None, "end": None},
    {"start": "nonsense", "end": "2021"},
    {"start": "2021-02-29", "end": "2021-02-30"},
    {"start": 5, "end": ["2021"]},
    {"start": Text("2021-01-01")},
    {"start": "2022-01-01", "end": "2021-01-01"},
    {"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"},
]
_TIMINGS: list[Any] = [
    {"event": ["2021-01-01", "2021-03-01T10:00:00Z"]},
    {"event": ["bad"], "repeat": {"boundsPeriod": {"start": "2020-05-05"}}},
    {"repeat": {"boundsPeriod": {"end": "2020-05-05"}}},
    {"repeat": {"boundsDuration": {"value": 5}}},
    {},
    Mapping(start="2021-01-01"),
]
DATE_VALUES: list[Any] = [*DATES, *_PERIODS, *_TIMINGS, None, 5, Text("2021-01-01"), ["x"]]


@pytest.mark.parametrize("value", DATE_VALUES, ids=range(len(DATE_VALUES)))
def test_date_edge_cases(c_builders: ModuleType, value: Any) -> None:
    _same(c_builders, "date", "date", [value])


def test_date_values_together(c_builders: ModuleType) -> None:
    _same(c_builders, "date", "date", DATE_VALUES)
    _same(c_builders, "date", "date", DATE_VALUES[::-1])


def test_the_common_date_shapes_are_parsed_in_c(c_builders: ModuleType) -> None:
    """The C parser answers the two common shapes itself: a general-path call fails."""

    def refuse(text: str) -> None:
        raise AssertionError(f"handed to Python: {text}")

    common = ["2021-11-21", "2021-11-21T09:37:00", "2021-11-21T09:37:00.123+07:00"]
    _SPANS.clear()
    _bind(c_builders, refuse)
    try:
        out: list[Any] = []
        c_builders.date_rows("date", [*common, {"start": common[0]}], out)
        assert len(out) == 4
        with pytest.raises(AssertionError, match="handed to Python: 2021"):
            c_builders.date_rows("date", ["2021"], out)
    finally:
        _bind(c_builders, index_builders._string_span)
        _SPANS.clear()


def _bind(c_builders: ModuleType, string_span: Callable[[str], Any]) -> None:
    b = index_builders
    c_builders.bind(
        token_rows,
        date_rows,
        reference_rows,
        string_span,
        b.target_of,
        _SPANS,
        _TARGETS,
        b.FOLDED,
        b.fold_text,
        b._LOWEST_TEXT,
        b._HIGHEST_TEXT,
        b._MAX_SPANS,
        b._MAX_TARGETS,
        b._CUT,
    )


class Items(list[Any]):
    pass


def _outcome(builder: Builder, param: Any, found: Any) -> Any:
    out: list[Any] = []
    _SPANS.clear()
    try:
        builder(param, found, out)
    except (AttributeError, TypeError) as error:
        return type(error)
    return _typed(out)


def test_unusual_arguments_go_to_python(c_builders: ModuleType) -> None:
    """A tuple, a list subclass or a non-str param: the Python twin runs the whole call (a
    compiled build's twin raises TypeError where a tuple is not a list; so does this)."""
    for param, found in [
        ("date", ("2021-01-01", True)),
        ("date", Items(["2021-01-01", {"code": "c"}])),
        (5, ["2021-01-01"]),
        (Text("p"), [{"code": "c"}, "2021-01-01"]),
    ]:
        for python, twin in [
            (date_rows, c_builders.date_rows),
            (token_rows, c_builders.token_rows),
        ]:
            assert _outcome(twin, param, found) == _outcome(python, param, found)
    with pytest.raises(TypeError):
        c_builders.token_rows("code", [])


REFERENCES: list[Any] = [
    "Patient/p1",
    "http://hl7.org/fhir/ValueSet/x|4.0.1",
    "",
    _LONG,
    Text("Patient/sub"),
    None,
    5,
    True,
    [],
    {},
    {"reference": "Patient/p1"},
    {"reference": "Patient/p1", "display": "Nguyễn Văn Đức"},
    {"reference": "Patient/p1/_history/2"},
    {"reference": "http://x.org/fhir/Patient/p1/_history/2"},
    {"reference": "Patient/_history/2"},
    {"reference": "_history/2"},
    {"reference": "/Patient/p1/_history/"},
    {"reference": "Patient/p1/"},
    {"reference": "/p1"},
    {"reference": "Ärzte/p1"},
    {"reference": "Patient/Đ"},
    {"reference": "http://example.org/fhir/Observation/o1"},
    {"reference": "urn:uuid:1234"},
    {"reference": "#contained"},
    {"reference": "#"},
    {"reference": ""},
    {"reference": "patient/p1"},
    {"reference": "Patient/"},
    {"reference": "Đ/Ư"},
    {"reference": "Patient/" + _LONG},
    {"reference": None},
    {"reference": 5},
    {"reference": Text("Patient/sub")},
    {"reference": Text("#sub")},
    {"identifier": {"system": "http://cccd.gov.vn", "value": "001"}},
    {"reference": "Patient/p1", "identifier": {"system": "urn:s", "value": "001"}},
    {"reference": "Patient/p1", "identifier": None},
    {"reference": "Patient/p1", "identifier": {"value": 5}},
    {"reference": "Patient/p1", "identifier": "bad"},
    {"type": "Patient", "display": "no reference"},
    Mapping(reference="Patient/m1"),
    {1: "non-str key", "reference": "Group/g1"},
]


@pytest.mark.parametrize("value", REFERENCES, ids=range(len(REFERENCES)))
def test_reference_edge_cases(c_builders: ModuleType, value: Any) -> None:
    _same(c_builders, "reference", "subject", [value])


def test_reference_values_together(c_builders: ModuleType) -> None:
    _same(c_builders, "reference", "subject", REFERENCES)
    _TARGETS.clear()  # the cache filled by one side is read by the other: both ways agree
    out: list[Any] = []
    reference_rows("subject", REFERENCES, out)
    again: list[Any] = []
    c_builders.reference_rows("subject", REFERENCES, again)
    assert _typed(again) == _typed(out)


def test_fuzzed_references(c_builders: ModuleType) -> None:
    rng = random.Random(15)
    parts = ["Patient", "patient", "p1", "", "_history", "2", "http:", "#x", "Đ", "a|b", " ", "B"]
    for _ in range(5_000):
        text = "/".join(rng.choice(parts) for _ in range(rng.randint(0, 6)))
        value = rng.choice([text, {"reference": text}, {"reference": text, "display": "d"}])
        _same(c_builders, "reference", "subject", [value, {"reference": text}])


def _accepted(builder: Builder, value: Any) -> bool:
    try:
        builder("p", [value], [])
    except (AttributeError, TypeError):
        return False
    return True


_EDITS = "0123456789-:T.Z+ Đđ/١"


def _fuzzed_date(rng: random.Random) -> str:
    year = rng.choice([rng.randint(1, 9999), rng.randint(1990, 2030), 2020, 2000, 1900])
    text = f"{year:04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
    if rng.random() < 0.7:
        text += f"T{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}:{rng.randint(0, 61):02d}"
        if rng.random() < 0.5:
            text += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 12)))
        text += rng.choice(["", "Z", "+07:00", "-05:30", "+14:00", "-14:00", "+13:59", "z"])
    for _ in range(rng.choice([0, 0, 0, 1, 2])):  # a few edits: invalid texts too
        at = rng.randrange(len(text) + 1)
        edit = rng.choice(["replace", "insert", "delete", "cut"])
        if edit == "replace" and at < len(text):
            text = text[:at] + rng.choice(_EDITS) + text[at + 1 :]
        elif edit == "insert":
            text = text[:at] + rng.choice(_EDITS) + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at]
    return text


def test_fuzzed_dates(c_builders: ModuleType) -> None:
    rng = random.Random(15)
    for _ in range(4_000):
        texts = [_fuzzed_date(rng) for _ in range(4)]
        found: list[Any] = [texts[0], {"start": texts[1], "end": texts[2]}]
        found.append(rng.choice([{"start": texts[3]}, {"end": texts[3]}, {"event": texts}]))
        _same(c_builders, "date", "date", found)


def _fuzzed_token(rng: random.Random) -> Any:
    texts = ["", "a", "Đà Nẵng", "http://loinc.org", "urn:oid:1", "phone", None, 5, True]

    def pick() -> Any:
        return rng.choice(texts)

    coding = {k: pick() for k in ("system", "code", "display") if rng.random() < 0.7}
    shapes = [
        pick(),
        coding,
        {"coding": [coding, {"code": pick()}][: rng.randint(0, 2)], "text": pick()},
        {k: v for k, v in {"coding": [coding], "text": pick()}.items() if rng.random() < 0.6},
        {"value": pick(), "system": pick(), "use": "home"},
        {"value": pick(), "system": pick(), "type": {"text": pick(), "coding": [coding]}},
        {"value": pick(), "assigner": {"display": pick()}},
    ]
    return rng.choice(shapes)


def test_fuzzed_tokens(c_builders: ModuleType) -> None:
    rng = random.Random(15)
    checked = 0
    for _ in range(20_000):
        value = _fuzzed_token(rng)
        if _accepted(token_rows, value):
            _same(c_builders, "token", rng.choice(["code", "identifier", "telecom"]), [value])
            checked += 1
    assert checked > 15_000


def test_a_missing_module_is_not_skipped_under_ci() -> None:
    if os.environ.get("CI") == "true":
        assert native.c_extension("yteso.store._builders") is not None
    assert Path(REPO / "yteso" / "store" / "_builders.c").is_file()


_NAME = {"use": "official", "family": "Nguyễn", "given": ["Văn", "Đức"], "text": "Nguyễn Văn Đức"}
_ADDRESS = {"line": ["12 Lê Lợi", "  Phường  Bến Nghé "], "city": "Hồ Chí Minh", "country": "VN"}

STRINGS: list[Any] = [
    "",
    " ",
    "Nguyễn",
    "NGUYỄN  văn\tĐức ",
    "ASCII  Text ",
    _LONG,
    "x" * 300,
    None,
    5,
    1.5,
    True,
    [],
    {},
    ["a", ["b", ["c", ["a"]]]],
    _NAME,
    {**_NAME, "prefix": ["Ông"], "suffix": ["Jr"], "period": {"start": "2020"}},
    {"given": ["Lan", 5, None, ["Hoa"]]},
    {"family": None},
    _ADDRESS,
    {**_ADDRESS, "district": "Quận 1", "state": "HCM", "postalCode": "700000"},
    {"text": "only text"},
    {"id": "x", "system": "s", "use": "home", "extension": [{"valueString": "e"}]},
    {"id": "x", "value": "v", "other": {"deeper": ["w", {"use": "u", "x": "y"}]}},
    {"value": "v", 1: "non-str key"},
    {"family": "F", 1: "non-str key ignored"},
    Text("sub"),
    [Text("sub in list")],
    {"family": Text("sub family")},
    Mapping(family="m"),
    Items(["in a list subclass"]),
    ("a", "tuple"),
    {"x": ("a", "tuple")},
    b"bytes",
]


def _same_strings(c_builders: ModuleType, found: list[Any]) -> None:
    """Equal rows, or the same exception: a compiled ``_strings_of`` raises TypeError for a
    dict whose fallback keys are neither five nor seven (mypyc checks its ``parts`` type)."""
    FOLDED.clear()
    expected = _outcome(string_rows, "name", found)
    FOLDED.clear()
    assert _outcome(c_builders.string_rows, "name", found) == expected


@pytest.mark.parametrize("value", STRINGS, ids=range(len(STRINGS)))
def test_string_edge_cases(c_builders: ModuleType, value: Any) -> None:
    _same_strings(c_builders, [value])
    _same_strings(c_builders, [value, value, "Nguyễn", value])


def test_string_values_together(c_builders: ModuleType) -> None:
    _same_strings(c_builders, STRINGS)
    _same_strings(c_builders, STRINGS[::-1])
    usable = [v for v in STRINGS if _accepted(string_rows, v)]
    _same(c_builders, "string", "name", usable + usable[::-1])
    many = [f"t{n % 23}" for n in range(200)]  # more than the 16 compared pairwise
    _same(c_builders, "string", "name", [many, _NAME, many[::-1]])
    deep: Any = "bottom"
    for _ in range(200):  # deeper than the C walk goes: the Python twin
        deep = [deep, "x"]
    _same(c_builders, "string", "name", [deep])


_FOLDS = [
    "ASCII  Text\x1c\x1fEnd\t\n\x0b\x0c\r ",
    "Đặng  THỊ\u00a0Đào\u2003x",
    "Straße İstanbul ǅemal ﬁne Ωmega",
    "a\u0301 \u0301\u0302 b\u0323\u0302",
    "Ø ø Ł ł ð Đ đ",
    "\u3000漢字\u3000かな ",
    "x" * 70 + " Ấ",
    "ấ" * 63,
    "ấ" * 64,
    "ấ" * 65,
    "a" * 64,
    "A" * 65,
    "\x85next\u2028line\u2029par",
]


def test_folds_by_word_as_fold_text(c_builders: ModuleType) -> None:
    """A text not in the fold cache is folded in C (ASCII) or word by word through the
    cache: the same text as fold_text's, and cached as fold_text caches it."""
    for text in _FOLDS:
        FOLDED.clear()
        python = _outcome(string_rows, "name", [text])
        cached = dict(FOLDED)
        FOLDED.clear()
        assert _outcome(c_builders.string_rows, "name", [text]) == python, text
        assert FOLDED.get(text) == cached.get(text), text
    FOLDED.clear()
    _same_strings(c_builders, _FOLDS)


def test_fuzzed_strings(c_builders: ModuleType) -> None:
    rng = random.Random(15)
    texts = ["", "a", "A", "Đà Nẵng", "đà nẵng", " a  b ", "x" * 250, None, 3, *_FOLDS]
    keys = ["family", "given", "text", "line", "city", "id", "use", "value", "period"]

    def shape(depth: int) -> Any:
        roll = rng.random()
        if depth > 3 or roll < 0.4:
            return rng.choice(texts)
        if roll < 0.6:
            return [shape(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(keys): shape(depth + 1) for _ in range(rng.randint(0, 4))}

    for _ in range(5_000):
        _same_strings(c_builders, [shape(0) for _ in range(rng.randint(0, 4))])


_UCUM = "http://unitsofmeasure.org"

QUANTITIES: list[Any] = [
    None,
    5,
    "5",
    [],
    {},
    {"value": 120.5, "system": _UCUM, "code": "mm[Hg]", "unit": "mmHg"},
    {"value": 70.2, "system": _UCUM, "code": "kg"},
    {"value": 70, "system": _UCUM, "code": "kg"},
    {"value": 5.4, "system": _UCUM, "code": "mmol/L"},
    {"value": 12.5, "system": _UCUM, "code": "g/dL"},
    {"value": 180, "system": _UCUM, "code": "cm"},
    {"value": 0.1, "system": _UCUM, "code": "mg"},
    {"value": 1e16, "system": _UCUM, "code": "kg"},
    {"value": 1.5e-7, "system": _UCUM, "code": "mmol/L"},
    {"value": 1.7976931348623157e308, "system": _UCUM, "code": "kg"},
    {"value": 5e-324, "system": _UCUM, "code": "mg"},
    {"value": -0.0, "system": _UCUM, "code": "kg"},
    {"value": 2**53, "system": _UCUM, "code": "kg"},
    {"value": 2**53 + 1, "system": _UCUM, "code": "kg"},
    {"value": -(2**63), "system": _UCUM, "code": "kg"},
    {"value": 10**30, "system": _UCUM, "code": "kg"},
    {"value": float("inf"), "system": _UCUM, "code": "kg"},
    {"value": float("nan"), "system": _UCUM, "code": "kg"},
    {"value": "7.25", "system": _UCUM, "code": "kg"},
    {"value": "abc", "system": _UCUM, "code": "kg"},
    {"value": True, "system": _UCUM, "code": "kg"},
    {"value": None, "system": _UCUM, "code": "kg"},
    {"system": _UCUM, "code": "kg"},
    {"value": 36.6, "system": _UCUM, "code": "Cel"},
    {"value": 72, "system": _UCUM, "code": "/min"},
    {"value": 1, "system": _UCUM, "code": "[in_i]"},
    {"value": 3.3, "system": _UCUM, "code": "not-a-unit"},
    {"value": 3.3, "system": "http://other", "code": "kg"},
    {"value": 3.3, "code": "kg"},
    {"value": 3.3, "unit": "kg"},
    {"value": 3.3, "system": _UCUM, "unit": "kg"},
    {"value": 3.3, "system": _UCUM, "code": "", "unit": "kg"},
    {"value": 3.3, "system": _UCUM, "code": None, "unit": None},
    {"value": 3.3, "system": _UCUM, "code": 0, "unit": "kg"},
    {"value": 3.3, "system": _UCUM, "code": 5},
    {"value": 3.3, "system": 5, "code": "kg"},
    {"value": 3.3, "system": Text(_UCUM), "code": "kg"},
    {"value": 3.3, "system": _UCUM, "code": Text("kg")},
    {"value": 3.3, "system": _UCUM, "code": "kg", "unit": 5},
    {"value": 3.3, "system": _UCUM, "code": "", "unit": 5},
    Mapping(value=1.5, system=_UCUM, code="kg"),
    {1: "non-str key", "value": 2.5, "system": _UCUM, "code": "kg"},
]


def _quantity_outcome(builder: Builder, found: list[Any]) -> Any:
    _QUANTITIES.clear()
    _UNIT_SCALES.clear()
    out: list[Any] = []
    try:
        builder("value-quantity", found, out)
    except Exception as error:  # the Python twin's own failure, raised by both
        return type(error)
    # repr: nan and -0.0 compared by their text
    return repr(_typed(out))


@pytest.mark.parametrize("value", QUANTITIES, ids=range(len(QUANTITIES)))
def test_quantity_edge_cases(c_builders: ModuleType, value: Any) -> None:
    python = _quantity_outcome(quantity_rows, [value])
    assert _quantity_outcome(c_builders.quantity_rows, [value]) == python
    twice = _quantity_outcome(quantity_rows, [value, value])  # the second from the cache
    assert _quantity_outcome(c_builders.quantity_rows, [value, value]) == twice


def test_quantity_values_together(c_builders: ModuleType) -> None:
    found = [v for v in QUANTITIES if _accepted(quantity_rows, v)]
    for values in (found, found[::-1], found + found):
        python = _quantity_outcome(quantity_rows, values)
        assert _quantity_outcome(c_builders.quantity_rows, values) == python


def test_fuzzed_quantities(c_builders: ModuleType) -> None:
    rng = random.Random(15)
    units = ["kg", "g", "mg", "mmol/L", "g/dL", "cm", "mm", "Cel", "/min", "%", "L", "km/h", "x"]
    for _ in range(5_000):
        digits = rng.randint(1, 17)
        value = round(rng.uniform(-1e6, 1e6) * 10.0 ** rng.randint(-12, 12), digits)
        power = 10.0 ** rng.randint(-20, 20)
        raw = rng.choice([value, int(value), float(f"{value:.{digits}g}"), power])
        code = rng.choice(units)
        quantity = {"value": raw, "system": rng.choice([_UCUM, _UCUM, None]), "code": code}
        python = _quantity_outcome(quantity_rows, [quantity, quantity])
        assert _quantity_outcome(c_builders.quantity_rows, [quantity, quantity]) == python, quantity
