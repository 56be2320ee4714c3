"""The C twin of ``index_blocks.python_value_groups`` (``yteso/store/_blocks.c``) cuts the rows
into the same keyed groups as the Python it stands in for: the same tables in the same order,
the same groups in the same order, each of the same size and holding the very same objects.

Differential, as ``test_copy_format_c.py``: the index rows of ``bench/bench_load.py``'s
resources, of every Synthea file under ../shared/data/synthea, of hand-made edge cases and of
seeded random rows go through both. What the C does not handle (a subclass, an entry or row of
another shape) it hands back (``None``), and ``value_groups`` then answers or raises as the
Python does.
"""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.store.test_copy_format_c import (
    Entry,
    Rows,
    Text,
    bench_lines,
    chunks,
    fuzz_text,
    fuzz_value,
    ndjson_entries,
    prepared_entries,
    synthea_files,
)
from yteso import native
from yteso.store import index_blocks
from yteso.store.bundle_entries import json_file_resources
from yteso.store.index_blocks import python_value_groups
from yteso.store.index_tables import INDEX_COLUMNS
from yteso.store.param_keys import keys_of, param_key
from yteso.store.sqlite_inserts import KEY_VALUES, keyed_rows_per_statement

Groups = dict[str, list[list[object]]]


@pytest.fixture(scope="module")
def blocks() -> ModuleType:
    module = native.c_extension("yteso.store._blocks")
    if module is None:
        message = f"the C twin is not in use here (yteso.native.mode = {native.mode})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return module


def in_c(blocks: ModuleType, entries: list[Entry]) -> Groups | None:
    answer: Groups | None = blocks.value_groups(
        list(entries), keys_of, param_key, keyed_rows_per_statement, KEY_VALUES
    )
    return answer


def same_int(one: object, other: object) -> bool:
    """Equal ints: the compiled Python boxes a key read from the keys dict again (a new
    object above 2**62), the C hands the dict's own."""
    return type(one) is int and type(other) is int and one == other


def assert_same(blocks: ModuleType, entries: list[Entry]) -> Groups:
    """Both twins on ``entries``: equal dicts, the same tables (the same key objects) and
    groups in the same order, each group of the same size holding the same objects (or equal
    ints: the keys)."""
    expected = python_value_groups(entries)
    found = in_c(blocks, entries)
    assert found is not None, "the C twin handed back rows the loader makes"
    assert type(found) is dict
    assert found == expected
    assert list(found) == list(expected)
    assert all(a is b for a, b in zip(found, expected, strict=True))
    for table, groups in expected.items():
        assert type(found[table]) is list
        assert [len(group) for group in found[table]] == [len(group) for group in groups], table
        for got, want in zip(found[table], groups, strict=True):
            assert type(got) is list
            assert all(a is b or same_int(a, b) for a, b in zip(got, want, strict=True)), table
            assert [type(a) for a in got] == [type(b) for b in want]
    return found


# --- the bench data and Synthea -----------------------------------------------------------


def test_bench_resources_give_the_same_groups(blocks: ModuleType) -> None:
    entries = ndjson_entries(bench_lines(600))
    assert len(entries) == 4800
    for chunk in chunks(entries):
        groups = assert_same(blocks, chunk)
        # full groups were cut: 128 rows of a narrow table share a group
        assert max(len(group) for group in groups["token"]) > 100
    assert_same(blocks, entries)  # one call over all: many full groups per key


def test_every_synthea_file_gives_the_same_groups(blocks: ModuleType) -> None:
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


# --- edge cases ---------------------------------------------------------------------------


def test_groups_fill_to_the_table_size_then_open_again(blocks: ModuleType) -> None:
    for width in (0, 1, 2, 5, 331, 332, 333, 995, 996, 997, 2000):
        values = tuple(range(width))
        entries: list[Entry] = [("Patient", f"p{i}", [("t", "name", values)]) for i in range(300)]
        groups = assert_same(blocks, entries)["t"]
        own = 1 + width
        full = KEY_VALUES + own * keyed_rows_per_statement(own)
        assert all(len(group) <= full for group in groups)


def test_rows_of_other_widths_in_one_table(blocks: ModuleType) -> None:
    """``sizes[table]`` comes from the table's first row; wider rows overfill a group."""
    rng = random.Random(5)
    entries: list[Entry] = [
        ("Patient", f"p{i}", [("t", "n", tuple(range(rng.choice([0, 1, 7, 300, 1200]))))])
        for i in range(400)
    ]
    assert_same(blocks, entries)


def test_types_alternate_and_equal_strings_are_other_objects(blocks: ModuleType) -> None:
    """Types, tables and parameters equal by content, each a new object per entry (as a parse
    makes them), and types that interleave: one group per content, in opening order."""
    entries: list[Entry] = []
    for i in range(700):
        type_ = "".join(["Pat", "ient"]) if i % 3 else "".join(["Obs", "ervation"])
        table = "".join(["token", "+element"]) if i % 2 else "token"
        param = "".join(["co", "de"])
        entries.append((type_, f"r{i}", [(table, param, ("x", i)), ("string", "name", ("n",))]))
    entries.append(("Group", "empty", []))
    entries.append(("", "", [("", "", ())]))
    assert_same(blocks, entries)


def test_the_same_parameter_of_other_types_keeps_their_own_keys(blocks: ModuleType) -> None:
    entries: list[Entry] = [
        (type_, f"{type_}{i}", [("token", "identifier", (f"v{i}",))])
        for i in range(50)
        for type_ in ("Patient", "Practitioner", "Organization", "Vietnamese Đ", "日本")
    ]
    groups = assert_same(blocks, entries)["token"]
    assert len({group[2] for group in groups}) == 5  # type: ignore[misc]


def test_values_of_any_type(blocks: ModuleType) -> None:
    """Values are only held, whatever they are: the C takes any object, as the Python does."""
    entries: list[Entry] = [
        ("Patient", "a", [("string", "name", ("x", None)), ("number", "n", (1.5, float("nan")))]),
        ("Patient", "b", [("string", "name", (b"bytes", 10**5000, object(), Text("s")))]),
        ("Patient", "c", [("string", "name", ("lone \ud800 surrogate", -0.0, True, 2**70))]),
    ]
    assert_same(blocks, entries)


def test_many_keys_grow_the_open_groups(blocks: ModuleType) -> None:
    entries: list[Entry] = [
        (f"T{i % 37}", f"r{i}", [(f"table{i % 11}", f"p{i % 101}", (i,)) for _ in range(3)])
        for i in range(5000)
    ]
    assert_same(blocks, entries)


def test_seeded_random_rows_give_the_same_groups(blocks: ModuleType) -> None:
    rng = random.Random(2026)
    tables = [*INDEX_COLUMNS, "token+element", "quantity+element"]
    for _ in range(20):
        entries: list[Entry] = []
        for i in range(300):
            rows = [
                (
                    rng.choice(tables),
                    rng.choice(["code", "name", "đ\tx", fuzz_text(rng)]),
                    tuple(fuzz_value(rng) for _ in range(rng.choice([0, 1, 2, 5, 400]))),
                )
                for _ in range(rng.randrange(8))
            ]
            type_ = rng.choice(["Patient", "Observation", fuzz_text(rng)])
            entries.append((type_, rng.choice([f"r{i}", f"r{i // 2}"]), rows))
        assert_same(blocks, entries)


# --- what the C hands back --------------------------------------------------------------

HANDED_BACK: list[list[Any]] = [
    [("Patient", "p", [("string", "name", ("x", "y"))]), ["Patient", "q", []]],
    [("Patient", "p", [("string", "name", ("x", "y"))], "extra")],
    [("Patient", "p")],
    [(Text("Patient"), "p", [("string", "name", ("x", "y"))])],
    [("Patient", "p", Rows([("string", "name", ("x", "y"))]))],
    [("Patient", "p", (("string", "name", ("x", "y")),))],
    [("Patient", "p", [("string", Text("name"), ("x", "y"))])],
    [("Patient", "p", [(Text("string"), "name", ("x", "y"))])],
    [("Patient", "p", [("string", "name", iter(("x", "y")))])],
    [("Patient", "p", [("string", "name", Rows(["x"]))])],
    [("Patient", "p", [("string", "name")])],
    [("Patient", "p", [("string", "name", ("x",), 1)])],
    [("Patient", "p", [("string", 5, ("x",))])],
    [("Patient", "p", [(None, "name", ("x",))])],
    [("Patient", "p", [("string", "name", 5)])],
    [(5, "p", [("string", "name", ("x",))])],
    [("Patient", 5, [("string", "name", ("x",))])],
    [("Patient", Text("p"), [("string", "name", ("x",))])],
    [("Patient", "p", [["string", "name", ("x",)]])],
    [("Patient", "p", [("string", "name", ["x", None])])],
]


@pytest.mark.parametrize("entries", HANDED_BACK, ids=range(len(HANDED_BACK)))
def test_what_the_loader_does_not_make_goes_to_the_python(
    blocks: ModuleType, entries: list[Entry]
) -> None:
    assert in_c(blocks, entries) is None
    try:
        expected: object = python_value_groups(entries)
    except Exception as exc:  # the same error type through value_groups
        with pytest.raises(type(exc)):
            index_blocks.value_groups(entries)
    else:
        assert index_blocks.value_groups(entries) == expected


def test_arguments_not_of_the_loader_go_to_the_python(blocks: ModuleType) -> None:
    entry: Entry = ("Patient", "p", [("string", "name", ("x",))])
    calls = (keys_of, param_key, keyed_rows_per_statement)
    assert blocks.value_groups((entry,), *calls, KEY_VALUES) is None
    assert blocks.value_groups([entry], *calls, 3.0) is None
    assert blocks.value_groups([entry], *calls, -1) is None
    assert blocks.value_groups([entry], *calls, 2**80) is None
    listing = lambda type_: []  # noqa: E731
    assert blocks.value_groups([entry], listing, param_key, keyed_rows_per_statement, 3) is None
    assert blocks.value_groups([entry], keys_of, param_key, lambda own: 1.0, 3) is None
    assert blocks.value_groups([entry], keys_of, param_key, lambda own: -1, 3) is None
    with pytest.raises(TypeError):
        blocks.value_groups([entry], *calls)


def test_errors_of_the_functions_go_to_the_python(blocks: ModuleType) -> None:
    def broken(*args: object) -> int:
        raise RuntimeError("no")

    fresh: Entry = ("Patient", "p", [("string", "never-seen-parameter-zz", ("x",))])
    calls = (keys_of, param_key, keyed_rows_per_statement)
    assert blocks.value_groups([fresh], keys_of, broken, keyed_rows_per_statement, 3) is None
    assert blocks.value_groups([fresh], broken, param_key, keyed_rows_per_statement, 3) is None
    assert blocks.value_groups([fresh], keys_of, param_key, broken, 3) is None
    assert blocks.value_groups([fresh], *calls, KEY_VALUES) == python_value_groups([fresh])


def test_a_key_stored_as_none_is_computed_again(blocks: ModuleType) -> None:
    keys: dict[str, object] = {"name": None, "other": 42}
    entries: list[Entry] = [("Patient", "p", [("string", "name", ("x",)), ("s", "other", ())])]
    found = blocks.value_groups(
        entries, lambda type_: keys, param_key, keyed_rows_per_statement, KEY_VALUES
    )
    assert found == {
        "string": [["Patient", "name", param_key("Patient", "name"), "p", "x"]],
        "s": [["Patient", "other", 42, "p"]],
    }
    assert keys["name"] == param_key("Patient", "name")


def test_the_loader_uses_the_c_twin(blocks: ModuleType) -> None:
    assert index_blocks._NATIVE is blocks
