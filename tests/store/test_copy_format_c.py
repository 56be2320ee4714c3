"""The C twin of ``copy_format.python_copy_tables`` (``yteso/store/_blocks.c``) writes the same
COPY text, byte for byte and table by table in the same order, as the Python it stands in for.

Differential: the index rows of a deterministic sample of ``bench/bench_load.py``'s resources
(600 patients' worth, all four types), of every Synthea file under ../shared/data/synthea, of
hand-made edge cases and of seeded random rows go through both; the C answer must be the
Python's. What the C does not handle (a datetime, a subclass, a list for a tuple, a string
that does not encode) it hands back (``None``), and ``copy_tables`` then answers or raises as
the Python does.
"""

from __future__ import annotations

import enum
import random
import struct
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from tests.conftest import IN_CI, REPO, shared_path
from yteso import native
from yteso.store import copy_format
from yteso.store.bulk_prepare import PreparedResource, prepare_ndjson, prepare_resource
from yteso.store.bundle_entries import SourcedResource, json_file_resources
from yteso.store.copy_format import python_copy_tables
from yteso.store.index_tables import INDEX_COLUMNS
from yteso.store.param_keys import cached_key

Entry = tuple[Any, Any, Any]
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CHUNK = 1000  # the bulk loader's chunks are ~1,000 lines


@pytest.fixture(scope="module")
def blocks() -> ModuleType:
    module = native.c_extension("yteso.store._blocks")
    if module is None:
        message = f"the C twin is not in use here (yteso.native.mode = {native.mode})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return module


def in_c(blocks: ModuleType, entries: list[Entry]) -> dict[str, bytes] | None:
    answer: dict[str, bytes] | None = blocks.copy_tables(list(entries), INDEX_COLUMNS, cached_key)
    return answer


def assert_same(blocks: ModuleType, entries: list[Entry]) -> dict[str, bytes]:
    """Both twins on ``entries``: equal bytes per table, the same tables in the same order."""
    expected = python_copy_tables(entries)
    found = in_c(blocks, entries)
    assert found is not None, "the C twin handed back rows the loader makes"
    assert list(found) == list(expected)
    for table, text in expected.items():
        assert found[table] == text, table
    return found


def ndjson_entries(lines: list[bytes]) -> list[Entry]:
    """The ``(type, id, rows)`` entries of the NDJSON lines the loader would keep, as it makes
    them (``bulk_prepare.prepare_ndjson``)."""
    return list(prepare_ndjson(lines, 1, NOW)[2])


def prepared_entries(sourced: list[SourcedResource]) -> list[Entry]:
    """The same for a JSON file's resources (``bulk_load._prepare_chunk``)."""
    entries: list[Entry] = []
    for item in sourced:
        if item.problem is not None or not isinstance(item.resource, dict):
            continue
        outcome = prepare_resource(item.resource, NOW, id=item.id)
        if isinstance(outcome, PreparedResource):
            entries.append((outcome.resource_type, outcome.id, outcome.index_rows))
    return entries


def chunks(entries: list[Entry]) -> Iterator[list[Entry]]:
    for start in range(0, len(entries), CHUNK):
        yield entries[start : start + CHUNK]


# --- the bench data and Synthea -----------------------------------------------------------


def bench_lines(patients: int) -> list[bytes]:
    """``bench_load.generate``'s lines for the first ``patients`` patients (seed 7), in its
    order: 8 resources per patient, as the benchmark's files hold them."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import bench_load
    finally:
        sys.path.remove(str(REPO / "bench"))
    rng = random.Random(7)
    lines = []
    for n in range(patients):
        subject, enc = f"Patient/pat-{n}", f"Encounter/enc-{n}"
        made = [bench_load.patient(rng, n), bench_load.encounter(rng, n, subject)]
        made += [bench_load.observation(rng, n * 5 + k, subject, enc) for k in range(5)]
        made.append(bench_load.condition(rng, n, subject, enc))
        lines += [orjson.dumps(resource) for resource in made]
    return lines


def test_bench_resources_give_the_same_copy_text(blocks: ModuleType) -> None:
    entries = ndjson_entries(bench_lines(600))
    assert len(entries) == 4800
    for chunk in chunks(entries):
        assert_same(blocks, chunk)


def synthea_files() -> list[Path]:
    root = shared_path("data", "synthea")
    return sorted(root.rglob("*.ndjson")) + sorted(root.rglob("*.json"))


def test_every_synthea_file_gives_the_same_copy_text(blocks: ModuleType) -> None:
    files = synthea_files()
    assert len(files) >= 60
    resources = 0
    for path in files:
        content = path.read_bytes()
        if path.suffix == ".ndjson":
            entries = ndjson_entries(content.split(b"\n"))
        else:
            entries = prepared_entries(json_file_resources(content))
        resources += len(entries)
        for chunk in chunks(entries):
            assert_same(blocks, chunk)
    assert resources > 10_000


# --- edge cases -----------------------------------------------------------------------------

ESCAPED = ["\\", "\t", "\n", "\r"]
ODD = ["\x00", "\x01", "\x0b", "\x0c", "\x0e", "\x1f", "\x7f", "]", "[", "\\\\", "\r\n"]
TEXTS = [
    "",
    "plain",
    "Nguyễn Thị Đào",
    "đường Lê Lợi, Đà Nẵng",
    "ĐĐĐđđđ",
    "日本語のテキスト",
    "emoji 😀 and 𝄞",
    "Tab\there",
    "\\N",
    "line1\nline2\r\nline3 \\ end",
    "x" * 7,
    "x" * 8,
    "x" * 9,
    "é" * 4 + "\t" + "é" * 4,
    "\x0b\x0c vertical tab and form feed need no escape",
    "a" * 100_000 + "\\" + "b" * 100_000 + "\n",
    "đ" * 50_000,
    *ESCAPED,
    *ODD,
]
# every position of an escaped character in strings of lengths around the 8-byte steps
TEXTS += [
    "a" * at + mark + "b" * (length - at - 1)
    for length in (1, 7, 8, 9, 15, 16, 17, 24, 25)
    for at in range(length)
    for mark in [*ESCAPED, "\x0b", "é"]
]
NUMBERS: list[object] = [
    0,
    1,
    -1,
    7,
    2**31,
    2**63 - 1,
    -(2**63),
    2**63,
    -(2**63) - 1,
    2**64,
    10**40,
    -(10**40),
    0.0,
    -0.0,
    1.0,
    -1.5,
    0.1,
    1e16,
    1e-7,
    1e-5,
    123456789.123,
    5e-324,
    1.7976931348623157e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
    None,
]


def test_edge_values_give_the_same_copy_text(blocks: ModuleType) -> None:
    values = [*TEXTS, *NUMBERS]
    entries: list[Entry] = []
    for i, value in enumerate(values):
        rows = [
            ("string", "name", (value, value)),
            ("token", "identifier", (value, "code", None)),
            ("number", "value-quantity", (value,)),
            ("text", "_content", (value,)),
        ]
        entries.append(("Patient", f"p{i}", rows))
    assert_same(blocks, entries)


def test_escapes_in_types_ids_params_and_tables(blocks: ModuleType) -> None:
    entries: list[Entry] = [
        ("Pa\ttient", "id\\1", [("string", "na\nme", ("v",))]),
        ("Patient", "", [("string", "", ("",))]),
        ("", "x", [("token", "code\r", ("s", "c", "d"))]),
        ("Patient", "Đ-1", [("uri", "đ", ("http://x/Đ",))]),
        ("Patient", "p", [("brand-new\ttable", "name", ("v",))]),
    ]
    assert_same(blocks, entries)


def test_widths_from_none_to_many_values(blocks: ModuleType) -> None:
    entries: list[Entry] = [
        ("Observation", f"o{width}", [("token", "code", tuple(range(width)))])
        for width in range(12)
    ]
    entries.append(("Observation", "empty", []))
    assert_same(blocks, entries)
    assert in_c(blocks, []) == python_copy_tables([]) == {}


def test_new_tables_follow_the_index_tables_in_first_seen_order(blocks: ModuleType) -> None:
    # each composite row names its table with a new str object, as composite_rows does
    element = "".join(["token", "+element"])
    entries: list[Entry] = [
        ("Observation", "a", [("".join(["quantity", "+element"]), "combo", ("s", "c", 1.5, 0))]),
        ("Observation", "b", [(element, "combo", ("s", "c", None, 1))]),
        ("Observation", "c", [("".join(["to", "ken"]), "code", ("s", "c", "d"))]),
        ("Observation", "d", [("zeta", "x", ("1",)), ("alpha", "y", ("2",))]),
    ]
    found = assert_same(blocks, entries)
    assert list(found) == ["token", "quantity+element", "token+element", "zeta", "alpha"]


def test_repeated_parameters_of_other_types_keep_their_own_keys(blocks: ModuleType) -> None:
    # one parameter object for every type: the C keeps a head per (type, parameter)
    param = "".join(["identi", "fier"])
    entries: list[Entry] = [
        (resource_type, f"{resource_type}-{i}", [("token", param, ("s", str(i), None))])
        for i in range(3)
        for resource_type in ("Patient", "Practitioner", "".join(["Pati", "ent"]))
    ]
    assert_same(blocks, entries)


def test_floats_of_many_magnitudes_read_as_repr(blocks: ModuleType) -> None:
    rng = random.Random(15)
    floats = [
        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20_000)
    ]
    floats += [sign * 10.0**exponent for exponent in range(-330, 309) for sign in (1, -1)]
    floats += [rng.uniform(-1e6, 1e6) for _ in range(5_000)]
    floats += [round(rng.uniform(0, 500), rng.randrange(4)) for _ in range(5_000)]
    entries: list[Entry] = [
        ("Observation", f"o{i}", [("number", "value", (value,))]) for i, value in enumerate(floats)
    ]
    assert_same(blocks, entries)
    assert_same(blocks, entries)  # again, from the texts both kept


def fuzz_text(rng: random.Random) -> str:
    alphabet = "ab Zz09\\\t\n\r\x0b\x00éđĐ日😀"
    return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 3, 7, 8, 9, 16, 40])))


def fuzz_value(rng: random.Random) -> object:
    kind = rng.randrange(7)
    if kind <= 2:
        return fuzz_text(rng)
    if kind == 3:
        return None
    if kind == 4:
        return rng.choice([rng.randrange(-(2**70), 2**70), rng.randrange(-1000, 1000)])
    if kind == 5:
        return rng.choice([True, False])
    return rng.choice([rng.uniform(-1e20, 1e20), -0.0, 0.0, 1e16, 1e-7, float("nan")])


def test_seeded_random_rows_give_the_same_copy_text(blocks: ModuleType) -> None:
    rng = random.Random(2026)
    tables = [*INDEX_COLUMNS, "token+element", "quantity+element"]
    for _ in range(20):
        entries: list[Entry] = []
        for i in range(200):
            rows = [
                (
                    rng.choice(tables),
                    rng.choice(["code", "name", "đ\tx", fuzz_text(rng)]),
                    tuple(fuzz_value(rng) for _ in range(rng.randrange(6))),
                )
                for _ in range(rng.randrange(8))
            ]
            entries.append((rng.choice(["Patient", "Observation", fuzz_text(rng)]), f"r{i}", rows))
        assert_same(blocks, entries)


# --- what the C hands back --------------------------------------------------------------


class Text(str):
    pass


class Whole(int):
    pass


class Kind(enum.IntEnum):
    ONE = 1


class Rows(list[Any]):
    pass


HANDED_BACK: list[list[Entry]] = [
    [("Patient", "p", [("date", "birthdate", (datetime(2020, 1, 2, tzinfo=UTC), None))])],
    [("Patient", "p", [("string", "name", (Text("x"), "y"))])],
    [("Patient", "p", [("number", "n", (Whole(5),))])],
    [("Patient", "p", [("number", "n", (Kind.ONE,))])],
    [("Patient", "p", [("string", "name", ["x", "y"])])],
    [("Patient", "p", [["string", "name", ("x", "y")]])],
    [("Patient", "p", Rows([("string", "name", ("x", "y"))]))],
    [("Patient", 5, [("string", "name", ("x", "y"))])],
    [(Text("Patient"), "p", [("string", "name", ("x", "y"))])],
    [("Patient", "p", [("string", Text("name"), ("x", "y"))])],
    [("Patient", "p", [(Text("string"), "name", ("x", "y"))])],
    [("Patient", "p", [("string", "name", ("x", b"bytes"))])],
    [("Patient", "p", [("string", "name", ("lone \ud800 surrogate",))])],
    [("Patient", "p", [("number", "n", (10**5000,))])],
    [("Patient", "p", [("string", "name")])],
    [["Patient", "p", [("string", "name", ("x",))]]],
    [("Patient", "p", [("string", "name", ("x",))]), ("Patient", "q", [("x", "y", (1j,))])],
]


@pytest.mark.parametrize("entries", HANDED_BACK, ids=range(len(HANDED_BACK)))
def test_what_the_loader_does_not_make_goes_to_the_python(
    blocks: ModuleType, entries: list[Entry]
) -> None:
    assert in_c(blocks, entries) is None
    try:
        expected: object = python_copy_tables(entries)
    except Exception as exc:  # the same error type through copy_tables
        with pytest.raises(type(exc)):
            copy_format.copy_tables(entries)
    else:
        assert copy_format.copy_tables(entries) == expected


def test_arguments_not_of_the_loader_go_to_the_python(blocks: ModuleType) -> None:
    entry: Entry = ("Patient", "p", [("string", "name", ("x",))])
    assert blocks.copy_tables((entry,), INDEX_COLUMNS, cached_key) is None
    assert blocks.copy_tables([entry], list(INDEX_COLUMNS), cached_key) is None
    assert blocks.copy_tables([entry], {1: ()}, cached_key) is None
    with pytest.raises(TypeError):
        blocks.copy_tables([entry], INDEX_COLUMNS)


def test_an_error_of_the_key_function_goes_to_the_python(blocks: ModuleType) -> None:
    def broken(resource_type: str, param: str) -> int:
        raise RuntimeError("no key")

    fresh = ("Patient", "p", [("string", "never-seen-parameter-zz", ("x",))])
    assert blocks.copy_tables([fresh], INDEX_COLUMNS, broken) is None


def test_the_loader_uses_the_c_twin(blocks: ModuleType) -> None:
    assert copy_format._NATIVE is blocks
