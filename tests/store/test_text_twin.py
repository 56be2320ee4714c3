"""The C twin of the ``_content`` and ``_text`` folds (``yteso.store._text``) against its
Python twin, ``index_rows.fold_content`` and ``fold_narrative``: the same value and type for
bench resources, every Synthea file, hand-made odd JSON and fuzzed strings.

The parser's shapes (exact ``dict``, ``list``, ``str``, numbers, booleans, null) must be
answered by the C code itself: there the fallback it is given refuses. Anything else may be
handed back to the Python twin, and the answer must still be the Python twin's.
"""

from __future__ import annotations

import os
import random
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from types import ModuleType

import orjson
import pytest

from tests.conftest import IN_CI, REPO, shared_path
from yteso import native
from yteso.fhir.types import Json
from yteso.store.index_rows import _NOT_CONTENT, fold_content, fold_narrative
from yteso.store.text_folding import (
    FOLDED,
    TABLE_NOT_FOLDED,
    TABLE_SPACE,
    _fold,
    fold_parts,
    fold_table,
    fold_text,
)

_PURE = os.environ.get("YTESO_PURE", "") not in ("", "0")
_TABLE = fold_table()
# With the fold table, and without it: every non-ASCII string through FOLDED and fold_text
_TABLES = [_TABLE, b""]


@pytest.fixture(scope="module")
def twin() -> ModuleType:
    module = native.c_extension("yteso.store._text")
    if module is None:
        if IN_CI and not _PURE:
            pytest.fail("CI=true: yteso.store._text is not built (pip install -e .)")
        pytest.skip(f"no current C build of yteso.store._text (native.mode={native.mode})")
    return module


def _refuse(value: object) -> str | None:
    raise AssertionError(f"handed over to the Python twin: {value!r:.200}")


class _Counted:
    """A fallback that answers with the Python twin and counts the hand-overs."""

    def __init__(self, python: Callable[[object], str | None]) -> None:
        self.python = python
        self.calls = 0

    def __call__(self, value: object) -> str | None:
        self.calls += 1
        return self.python(value)


def _check(twin: ModuleType, resource: object) -> str | None:
    """The C content equals the Python twin's, in value and type, without a hand-over, with
    and without the fold table. Also the narrative, where the resource has one."""
    expected = fold_content(resource)
    for table in _TABLES:
        got = twin.content(resource, table, FOLDED, fold_text, _refuse)
        assert got == expected and type(got) is type(expected), resource
    if isinstance(resource, dict):
        narrative = resource.get("text")
        if isinstance(narrative, dict) and isinstance(narrative.get("div"), str):
            div = narrative["div"]
            assert twin.narrative(div, fold_narrative) == fold_narrative(div)
    return got


def _bench_resources(patients: int) -> Iterator[Json]:
    """``bench/bench_load.py``'s data in ``generate``'s order: its first lines per file."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import bench_load
    finally:
        sys.path.remove(str(REPO / "bench"))
    rng = random.Random(7)  # generate()'s seed
    for n in range(patients):
        subject, enc = f"Patient/pat-{n}", f"Encounter/enc-{n}"
        yield bench_load.patient(rng, n)
        yield bench_load.encounter(rng, n, subject)
        for k in range(5):
            yield bench_load.observation(rng, n * 5 + k, subject, enc)
        yield bench_load.condition(rng, n, subject, enc)


def test_bench_resources(twin: ModuleType) -> None:
    # 4,000 of the 100,000 (500 patients): the full run takes ~30 s (docs/benchmarks.md,
    # session 15, compared all 100,000 once)
    checked = 0
    for resource in _bench_resources(500):
        _check(twin, orjson.loads(orjson.dumps(resource)))  # as the parser gives it
        checked += 1
    assert checked == 4000


def _synthea_resources() -> Iterator[Json]:
    root = shared_path("data", "synthea")
    for path in sorted(root.rglob("*.ndjson")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                yield orjson.loads(line)
    for path in sorted(root.rglob("*.json")):
        bundle = orjson.loads(path.read_bytes())
        yield bundle  # whole, nested resources and all
        for entry in bundle.get("entry", []):
            yield entry["resource"]


def test_every_synthea_file(twin: ModuleType) -> None:
    checked = narratives = non_ascii = 0
    for resource in _synthea_resources():
        got = _check(twin, resource)
        checked += 1
        narratives += isinstance(resource.get("text"), dict)
        non_ascii += got is not None and not got.isascii()
    assert checked > 10_000 and narratives > 100 and non_ascii > 10, (
        checked,
        narratives,
        non_ascii,
    )


def _basic(*values: object) -> Json:
    return {"resourceType": "Basic", "id": "x", "value": list(values)}


class _Str(str):
    def lower(self) -> str:  # a subclass may fold differently: the Python twin decides
        return "subclass"


class _Dict(dict):  # type: ignore[type-arg]
    pass


class _List(list):  # type: ignore[type-arg]
    pass


_HANDLED = [
    {},
    {"resourceType": "Basic"},
    {"resourceType": "Basic", "id": "only-machinery", "meta": {"source": "s"}},
    _basic(""),
    _basic("", "  ", "\t\n"),
    _basic("Nguyễn Văn A", "ĐẶNG THỊ Đào", "đường Lê Lợi", "Trần Hưng Đạo"),
    _basic("Bệnh viện Bạch Mai", "Hà Nội", "Thành phố Hồ Chí Minh", "Huế"),
    _basic("x" * 100_000, "Bệnh viện " * 5_000, "a " * 50_000),
    _basic("A\x1cB\x1dC\x1eD\x1fE\x0bF\x0cG\rH", "\x00 nul\x7f"),
    _basic("no\u00a0break", "em\u2003space", "nel\x85line", "ideo\u3000space"),
    _basic("\u0301x", "e\u0301", "İstanbul", "STRASSE straße", "ς ΣΑΣ", "ﬁ Ǆ ǅ Ⅻ ⓐ"),
    _basic("ꭰ Đặng", "ABC  Def", "Ꭰ", "北京 Ελλάδα", "emoji 😀 ok"),
    _basic("\u0300\u0301", "x", "\u0300"),  # a string of marks only folds to nothing
    _basic(None, True, False, 0, 1.5, -3, [], {}, [[[]]]),
    _basic([["a", ["b", [{"c": "d", "id": "no"}]]]], {"e": [1, "f", None]}),
    {"resourceType": "Basic", "text": {"status": "generated", "div": "<div>Xin chào</div>"}},
    {"div": "<div>top-level narrative</div>", "a": "no"},
    {"a": {"div": 1, "b": "no"}, "c": "yes"},  # any "div" key marks a narrative
    {"a": [{"div": None}], "b": "yes"},
    {"a": "no", "b": ["no", {"c": "no"}], "div": "last"},  # text before the div is dropped
    {"a": {"b": "no", "c": "Đặng", "div": 1}, "d": "yes", "e": {"f": "x", "div": {}}},
    # each machinery key alone beside content ("div" would drop the whole object)
    *({k: f"v-{k}", "content": "kept"} for k in sorted(_NOT_CONTENT - {"div"})),
    # keys of the machinery keys' lengths that are not machinery
    {k: k for k in ["ix", "Id", "ID", "urn", "dib", "Div", "mets", "code", "sistem", "systems"]},
    {k: k for k in ["referenci", "resourcetype", "resourceTypo", "idé", "métà", "ĩd"]},
    {"id": {"nested": "under a machinery key"}, "system": ["x"], "reference": {"a": "b"}},
    {"resourceType": "Basic", "a": "z" * 65, "b": "Đ" * 65, "c": "đ" * 64},
]


@pytest.mark.parametrize("resource", _HANDLED)
def test_parser_shapes_are_handled_in_c(twin: ModuleType, resource: Json) -> None:
    _check(twin, resource)


_HANDED_OVER: list[object] = [
    [],  # not an object
    "text",
    None,
    _Dict(a="x"),
    _basic(_Str("ABC")),
    _basic(_Dict(b="Đặng"), "x"),
    _basic(_List(["y", "Z"])),
    _basic(("tuple", "skipped")),
    _basic({1: "int key", "a": "b"}),
    _basic({"div": "x", 2: "a key after the narrative's"}),
    _basic({2: "a key before the narrative's", "div": "x"}),
    {_Str("id"): "subclass key", "a": "b"},
    _basic(b"bytes", 2**80, object()),
    _basic("lone \ud800 surrogate", "Đ"),
]


def _outcome(function: Callable[[], object]) -> object:
    """What a call returns, or the type of what it raises (compiled, the Python twin refuses
    a key that is not a str with a TypeError; from source it reads the key)."""
    try:
        return function()
    except Exception as error:
        return type(error)


@pytest.mark.parametrize("resource", _HANDED_OVER)
def test_other_shapes_go_to_the_python_twin(twin: ModuleType, resource: object) -> None:
    fallback = _Counted(fold_content)
    got = _outcome(lambda: twin.content(resource, _TABLE, FOLDED, fold_text, fallback))
    assert got == _outcome(lambda: fold_content(resource))
    assert fallback.calls == 1


def test_deep_nesting_goes_to_the_python_twin(twin: ModuleType) -> None:
    deep: object = "bottom"
    for level in range(700):
        deep = [deep] if level % 2 else {"a": deep, "b": "Ở"}
    resource = {"resourceType": "Basic", "deep": deep}
    fallback = _Counted(fold_content)
    assert twin.content(resource, _TABLE, FOLDED, fold_text, fallback) == fold_content(resource)
    assert fallback.calls == 1
    shallow = {"resourceType": "Basic", "x": [[[[{"a": [[["b"]]]}]]]]}
    _check(twin, shallow)


def test_errors_of_the_fold_propagate(twin: ModuleType) -> None:
    def broken(text: str) -> str:
        raise ValueError(text)

    with pytest.raises(ValueError, match="Thành"):
        twin.content(_basic("ascii", "Thành phố"), b"", {}, broken, _refuse)
    with pytest.raises(ValueError, match="北京"):
        twin.content(_basic("ascii", "Thành phố", "北京"), _TABLE, {}, broken, _refuse)
    with pytest.raises(TypeError):
        twin.content(_basic("x"), _TABLE, None, fold_text, _refuse)
    with pytest.raises(TypeError):
        twin.content(_basic("x"), _TABLE[:-1], FOLDED, fold_text, _refuse)
    with pytest.raises(TypeError):
        twin.content(_basic("x"), _TABLE, FOLDED, fold_text)
    with pytest.raises(TypeError):
        twin.narrative("<div/>")


def test_a_fold_that_returns_no_str_goes_to_the_python_twin(twin: ModuleType) -> None:
    fallback = _Counted(fold_content)
    resource = _basic("Đặng")
    assert twin.content(resource, b"", {}, lambda text: 1, fallback) == fold_content(resource)
    assert fallback.calls == 1


_LETTERS = "aAzZ09-_.,;:/'\"<>&đĐðøØłŁăâêôơưĂÂÊÔƠƯáàảãạấầẩẫậếềểễệốồổỗộớờởỡợứừửữựíìỉĩịýỳỷỹỵ"
# beside letters outside the table: marks inside _MARKS' ranges (removed) and outside them
# (Hebrew, Thai, Devanagari: kept, and NFD reorders them by combining class)
_ODD = "ßİıſǅﬁÅΣςꭰ北😀ŉǰ\u0301\u0323\u0309\u0303\u031b\u1ab0\u20d0\ufe20\u0591\u05b0\u0e48\u093c"
_SPACES = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u00a0\u1680\u2003\u2028\u3000"


def _fuzzed(rng: random.Random) -> str:
    alphabet = rng.choice([_LETTERS, _LETTERS + _SPACES, _LETTERS + _ODD + _SPACES, _SPACES])
    if rng.random() < 0.3:
        alphabet = "abcXYZ 123" + _SPACES[:10]  # ASCII only: the C fold
    return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 2, 5, 20, 70, 300])))


def test_fuzzed_strings_against_fold_parts(twin: ModuleType) -> None:
    rng = random.Random(15)
    for _ in range(3000):
        strings = [_fuzzed(rng) for _ in range(rng.randint(1, 6))]
        resource = {"resourceType": "Basic", "a": strings[:2], "b": {"c": strings[2:]}}
        expected = fold_parts(strings)
        for table in _TABLES:
            got = twin.content(resource, table, FOLDED, fold_text, _refuse)
            assert got == expected and type(got) is str, strings
        assert expected == fold_content(resource)


def test_each_table_entry_is_the_fold_of_its_character() -> None:
    # the entries the C code reads, against _fold itself, between letters and spaces
    entries = 0
    for code in range(len(_TABLE) // 4):
        length = _TABLE[code * 4]
        if length == TABLE_NOT_FOLDED:
            continue
        entries += 1
        char = chr(code)
        if length == TABLE_SPACE:
            assert _fold(f"a{char}b") == "a b", hex(code)
        else:
            letters = _TABLE[code * 4 + 1 : code * 4 + 1 + length].decode("ascii")
            assert _fold(f"a{char}b") == f"a{letters}b", hex(code)
            assert _fold(f"{char}\u0301{char}") == letters * 2, hex(code)
    assert entries > 600
    assert _TABLE[ord("đ") * 4 : ord("đ") * 4 + 2] == b"\x01d"
    assert _TABLE[ord("\u0591") * 4] == TABLE_NOT_FOLDED  # a mark _MARKS keeps


def test_fuzzed_narratives(twin: ModuleType) -> None:
    rng = random.Random(16)
    pieces = ["<", ">", "<b>", "</div>", "<br/>", "a", "B", " ", "\n", "\x1f", "x<y", "đ", "é"]
    for _ in range(5000):
        div = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        assert twin.narrative(div, fold_narrative) == fold_narrative(div), div
    for div in ["", "<", ">", "<>", "a<b", "a>b<c", "<div>A\tB</div>", "<" * 10_000 + "x"]:
        assert twin.narrative(div, _refuse) == fold_narrative(div), div[:50]
    fallback = _Counted(fold_narrative)
    for div in ["<div>Đặng</div>", _Str("<p>X</p>")]:
        assert twin.narrative(div, fallback) == fold_narrative(div)
    assert fallback.calls == 2


def test_no_leak(twin: ModuleType) -> None:
    # the results, the fold's strings and the inputs are released: memory stays flat
    resources = [_basic("Đặng " * 30, "ascii " * 300, ["Hà Nội", {"x": "Huế", "y": "北京"}])]
    handed = _basic(_Str("x"), "Đ")

    def run(times: int) -> None:
        for _ in range(times):
            for resource in resources:
                twin.content(resource, _TABLE, FOLDED, fold_text, _refuse)
                twin.content(resource, b"", FOLDED, fold_text, _refuse)
            twin.content(handed, _TABLE, FOLDED, fold_text, fold_content)
            twin.narrative("<div>Xin chào</div>", fold_narrative)
            twin.narrative("<div>hello</div>", _refuse)

    run(50)
    counts = [sys.getrefcount(r) for r in resources]
    tracemalloc.start()
    try:
        run(20)
        before = tracemalloc.get_traced_memory()[0]
        run(300)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64_000, grown
    assert [sys.getrefcount(r) for r in resources] == counts
