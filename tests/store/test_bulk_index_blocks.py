"""Index rows grouped by the bulk loader's workers (``index_blocks``) reach the index tables
exactly as the per-resource path would write them: escapes, NULLs, floats, repeated ids."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from yteso.store import SqlStore, copy_format, extract_index_rows, load_paths, open_store
from yteso.store import bulk_load as bulk
from yteso.store.composite_rows import ELEMENT
from yteso.store.copy_format import copy_tables
from yteso.store.index_blocks import IndexBlock, merged_blocks
from yteso.store.index_tables import INDEX_COLUMNS, rows_by_table
from yteso.store.index_values import IndexRow
from yteso.store.param_keys import param_key


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def patient(i: int, family: str, gender: str = "female") -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "id": f"p{i}",
        "gender": gender,
        "name": [{"family": family, "given": ["Tab\there", "\\N"]}],
        "address": [{"text": "line1\nline2\r\nline3 \\ end"}],
        "telecom": [{"system": "phone", "value": "0912\t345"}],
    }


def observation(i: int, value: float) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": f"o{i}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": f"Patient/p{i}"},
        "valueQuantity": {"value": value, "unit": "kg", "system": "http://unitsofmeasure.org"},
    }


# Tables with the ``element`` column (composite parameters' component rows, migration 0009).
WITH_ELEMENT = set(INDEX_COLUMNS) - {"text"}


def stored_rows(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    tables: dict[str, list[tuple[object, ...]]] = {}
    with store.backend.reading() as db:
        for table, columns in INDEX_COLUMNS.items():
            extra = ("element",) if table in WITH_ELEMENT else ()
            names = ", ".join(("resource_type", "id", "param", "pkey", *columns, *extra))
            found = db.rows(f"SELECT {names} FROM search_{table}")
            tables[table] = sorted((tuple(row) for row in found), key=repr)
    return tables


def unkeyed(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """The rows without their parameter key (the fourth column; ``test_param_keys`` checks it)."""
    return [row[:3] + row[4:] for row in rows]


def expected_rows(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    """What the per-resource path extracts from every current version (component rows of
    composites, ``<table>+element``, carry their element last; other rows a NULL one)."""
    entries = [
        (stored.resource_type, stored.id, extract_index_rows(stored.resource()))
        for stored in store.iter_current()
    ]
    tables: dict[str, list[tuple[object, ...]]] = {table: [] for table in INDEX_COLUMNS}
    for group, rows in rows_by_table(entries).items():
        physical, element, _ = group.partition(ELEMENT)
        pad = () if element or physical not in WITH_ELEMENT else (None,)
        tables[physical].extend(row + pad for row in rows)
    return {table: sorted(rows, key=repr) for table, rows in tables.items()}


def write_ndjson(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def test_blocks_write_the_same_rows_with_escapes_and_repeats(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small chunks, one batch: repeats within a chunk, across chunks of a batch, and of ids
    # already stored (the second load) must each keep only the last version's rows
    monkeypatch.setattr(bulk, "CHUNK_BYTES", 1500)
    rows = [patient(i, f"Back\\slash {i}") for i in range(12)]
    rows.insert(1, patient(0, "Repeated in the chunk", "male"))
    rows.append(patient(3, "Repeated in a later chunk", "other"))
    rows += [observation(i, value) for i, value in enumerate((72.5, 1e-7, 123456789.125, 0.1))]
    path = write_ndjson(tmp_path / "data.ndjson", rows)
    report = load_paths(store, [path], workers=1, batch_size=10_000)
    assert (report.loaded, report.failed) == (len(rows), 0)
    assert stored_rows(store) == expected_rows(store)
    token = unkeyed(stored_rows(store)["token"])
    assert ("Patient", "p3", "gender", None, "other", None, None) in token
    assert not any(row[1] == "p3" and row[4] == "female" for row in token)

    again = write_ndjson(tmp_path / "again.ndjson", [patient(5, "Tab\tin\\family", "male")])
    load_paths(store, [again], workers=1)
    assert store.read("Patient", "p5").version == 2
    strings = unkeyed(stored_rows(store)["string"])
    assert ("Patient", "p5", "family", "tab in\\family", "Tab\tin\\family", None) in strings
    assert ("Patient", "p2", "given", "\\n", "\\N", None) in strings  # text, not NULL
    assert not any(row[1] == "p5" and "Back" in str(row[4]) for row in strings)
    assert stored_rows(store) == expected_rows(store)
    quantity = unkeyed(stored_rows(store)["quantity"])
    quantities = [row[5] for row in quantity if row[2] == "value-quantity"]
    assert sorted(quantities) == [1e-7, 0.1, 72.5, 123456789.125]


def test_copy_tables_escape_what_copy_needs_and_nothing_else() -> None:
    entries: list[Entry] = [
        ("Patient", "p1", [("string", "name", ("x\ty", "b\\c")), ("number", "name", (1.5,))]),
        ("Patient", "p\t2", [("string", "name", ("n\nr\r", "\\N")), ("number", "name", (7,))]),
        ("Patient", "p3", [("number", "name", (math.inf,)), ("number", "name", (-math.inf,))]),
        ("Patient", "p4", [("number", "name", (math.nan,)), ("number", "name", (0.1 + 0.2,))]),
        ("Patient", "p5", [("token", "name", (None, "c", None))]),
    ]
    key = param_key("Patient", "name")
    assert copy_tables(entries) == {
        "string": f"Patient\tp1\tname\t{key}\tx\\ty\tb\\\\c\n"
        f"Patient\tp\\t2\tname\t{key}\tn\\nr\\r\t\\\\N\n".encode(),
        "number": "".join(
            f"Patient\t{id}\tname\t{key}\t{text}\n"
            for id, text in [
                ("p1", "1.5"),
                ("p\\t2", "7"),
                ("p3", "Infinity"),
                ("p3", "-Infinity"),
                ("p4", "NaN"),
                ("p4", "0.30000000000000004"),
            ]
        ).encode(),
        "token": f"Patient\tp5\tname\t{key}\t\\N\tc\t\\N\n".encode(),
    }
    assert copy_tables([]) == {}


def test_copy_tables_write_remembered_floats_and_both_zeros_as_repr() -> None:
    # texts of floats are remembered across blocks; 0.0 and -0.0 are one dict key
    values = [0.0, -0.0, 0.0, 72.5, 72.5, -72.5, 1e-7, 1e-7, 123456789.125, -0.0]
    entries: list[Entry] = [
        ("Observation", f"o{i}", [("number", "value", (value,))]) for i, value in enumerate(values)
    ]
    key = param_key("Observation", "value")
    expected = "".join(
        f"Observation\to{i}\tvalue\t{key}\t{value!r}\n" for i, value in enumerate(values)
    ).encode()
    assert copy_tables(entries) == {"number": expected}
    assert copy_tables(entries) == {"number": expected}  # the second time from what it kept


Entry = tuple[str, str, list[IndexRow]]


def per_value_copy_text(rows: list[tuple[object, ...]]) -> bytes:
    """The plain reference: every value of every insert tuple escaped on its own."""
    return "".join("\t".join(map(copy_format._field, row)) + "\n" for row in rows).encode()


def component_observation() -> dict[str, object]:
    """Composite parameters' component rows (``token+element``, four values) beside others."""
    code = {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}
    quantity = {"value": 120, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org"}
    return {**observation(1, 70.0), "component": [{"code": code, "valueQuantity": quantity}]}


@pytest.mark.parametrize(
    "entries",
    [
        # NULLs beside plain values, and backslash, tab, line break or CR beside NULLs
        [("Patient", "p1", [("token", "gender", (None, "male", None))])],
        # nothing to escape anywhere (the block's one check), then one value in a later row
        [("Patient", "p1", [("string", "name", ("lê", "Lê")), ("quantity", "q", (1.5,))])],
        [
            ("Patient", "p1", [("string", "name", ("le", "Lê")), ("uri", "u", ("x",))]),
            ("Patient", "p2", [("string", "name", ("le", "L\\ê")), ("uri", "u", ("y",))]),
        ],
        [("Patient", "p1", [("string", "name", ("back\\slash", None))])],
        [("Patient", "p1", [("string", "name", ("\\N", "x")), ("string", "n", ("a\tb", None))])],
        [("Patient", "p1", [("string", "name", ("a\nb", None))]), ("Patient", "p2", [])],
        [("Patient", "p1", [("token", "name", ("a\rb", None, "Lê Đức")), ("uri", "u", ("日本",))])],
        [
            ("Patient", "p1", extract_index_rows(patient(1, "Back\\slash"))),
            ("Observation", "o1", extract_index_rows(component_observation())),
            ("Patient", "p2", extract_index_rows(patient(2, "Lê Đức\tThị"))),
        ],
    ],
)
def test_copy_tables_equal_per_value_escaping_of_insert_tuples(entries: list[Entry]) -> None:
    expected = {
        table: per_value_copy_text(rows) for table, rows in rows_by_table(entries).items() if rows
    }
    assert copy_tables(entries) == expected
    assert list(copy_tables(entries)) == list(expected)  # the same tables, in the same order


def test_merged_blocks_keep_every_row_in_order() -> None:
    rows: list[tuple[object, ...]] = [
        ("Patient", f"p{i}", "gender", None, "male", None) for i in range(4)
    ]
    blocks = [index_block_of(rows[:2]), index_block_of(rows[2:3]), index_block_of(rows[3:])]
    merged = merged_blocks(blocks)
    assert merged.keys == [("Patient", f"p{i}") for i in range(4)]
    assert merged.tables == {"token": per_value_copy_text(rows)}
    with pytest.raises(TypeError):
        merged_blocks([IndexBlock([("Patient", "p9")], {"token": rows})])


def index_block_of(rows: list[tuple[object, ...]]) -> IndexBlock:
    return IndexBlock([(row[0], row[1]) for row in rows], {"token": per_value_copy_text(rows)})
