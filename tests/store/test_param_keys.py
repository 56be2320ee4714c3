"""Migration 0015: every search row carries its parameter key (``pkey``, :mod:`param_keys`),
the value indexes lead with it, and searches of a type test it alone. The key is the same in
Python, PostgreSQL's SQL and SQLite's registered function; every official (type, parameter)
has its own; a custom SearchParameter whose key would clash is refused. A store migrated from
0014 holds the keys of its rows and answers as a new store with the same data. Both backends.
"""

from __future__ import annotations

from hashlib import md5
from pathlib import Path

import orjson
import pytest

from tests.store.deferred_support import definitions, open_at_version, write_before_param_keys
from tests.store.search_fixtures import ETHNIC_SEARCH_PARAMETER, search_resources
from tests.store.test_index_keys import answers, fresh_url, same_data, shapes  # noqa: F401
from yteso.fhir.definitions import resource_types, search_parameters
from yteso.fhir.errors import Invalid
from yteso.store import SqlStore, load_paths, open_store
from yteso.store import custom_params as custom_params_module
from yteso.store.custom_params import key_clashes, stored_names
from yteso.store.index_tables import INDEX_COLUMNS
from yteso.store.param_keys import collisions, param_key
from yteso.store.validation_gate import require_valid

PAIRS = [("Patient", "name"), ("Observation", "code"), ("Observation", "code-value-quantity$1")]


def test_the_key_is_the_first_8_bytes_of_md5_as_a_signed_integer() -> None:
    for resource_type, param in PAIRS:
        digest = md5(f"{resource_type}|{param}".encode()).digest()
        assert param_key(resource_type, param) == int.from_bytes(digest[:8], "big", signed=True)
    assert {param_key(*pair) < 0 for pair in [*PAIRS, ("Encounter", "date")]} == {True, False}


def test_the_database_computes_the_same_key(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.backend.reading() as db:
            for resource_type, param in [*PAIRS, ("Encounter", "date")]:
                if store.dialect == "postgresql":  # as migration 0015 fills older rows
                    sql = "SELECT CAST(CAST('x' || left(md5(%s), 16) AS bit(64)) AS BIGINT)"
                    found = db.rows(sql, (f"{resource_type}|{param}",))
                else:
                    found = db.rows("SELECT yteso_param_key(?, ?)", (resource_type, param))
                assert found[0][0] == param_key(resource_type, param)
    finally:
        store.close()


def test_every_official_parameter_row_has_its_own_key() -> None:
    pairs = {
        (resource_type, name)
        for resource_type in resource_types()
        for code, definition in search_parameters(resource_type).items()
        for name in stored_names(code, definition)
    }
    pairs |= {(t, n) for t in resource_types() for n in ("_text", "_content")}
    assert len(pairs) > 9_000
    assert collisions(pairs) == []
    assert key_clashes(ETHNIC_SEARCH_PARAMETER) == []


def test_a_search_parameter_whose_key_clashes_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = custom_params_module.param_key

    def clashing(resource_type: str, param: str) -> int:  # ethnic's key is name's
        same = (resource_type, param) == ("Patient", "ethnic")
        return real("Patient", "name") if same else real(resource_type, param)

    monkeypatch.setattr(custom_params_module, "param_key", clashing)
    with pytest.raises(Invalid) as raised:
        require_valid(ETHNIC_SEARCH_PARAMETER)
    (issue,) = [issue for issue in raised.value.issues if issue.severity == "error"]
    assert issue.code == "business-rule" and issue.expression == ("SearchParameter.code",)
    assert "'ethnic' of Patient has the same 64-bit key as 'name' of Patient" in issue.diagnostics


def _row_keys(store: SqlStore) -> list[tuple[str, str, int]]:
    """Every search row's (type, param, pkey), across the tables."""
    found = []
    with store.backend.reading() as db:
        for table in INDEX_COLUMNS:
            sql = f"SELECT resource_type, param, pkey FROM search_{table}"
            found += [(str(t), str(p), int(k)) for t, p, k in db.rows(sql)]
    return found


def _assert_keyed(store: SqlStore) -> None:
    rows = _row_keys(store)
    assert len(rows) > 100
    assert all(key == param_key(resource_type, param) for resource_type, param, key in rows)


def test_every_written_row_carries_its_key(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    try:
        store.bulk_write(search_resources())  # the per-resource path
        _assert_keyed(store)
        path = tmp_path / "more.ndjson"  # the bulk loader's blocks (COPY text / value groups)
        more = [{**r, "id": f"{r['id']}-2"} for r in search_resources() if "id" in r]
        path.write_bytes(b"\n".join(orjson.dumps(r) for r in more) + b"\n")
        assert load_paths(store, [path], workers=1).loaded == len(more)
        _assert_keyed(store)
    finally:
        store.close()


def test_a_store_from_0014_migrates_to_keyed_rows_and_answers_the_same(
    store_url: str,
    fresh_url: str,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = open_at_version(store_url, monkeypatch, 14)
    try:
        write_before_param_keys(old, search_resources())
        lookup = definitions(old)["search_token_lookup"]
        assert "resource_type, param, code, system" in lookup
    finally:
        old.close()
    migrated, fresh = open_store(store_url), open_store(fresh_url)
    try:
        _assert_keyed(migrated)
        assert shapes(migrated) == shapes(fresh)
        before = same_data(fresh)
        assert sorted(_row_keys(migrated)) == sorted(_row_keys(fresh))
        assert answers(migrated) == before
        assert any(included for _, included in before) and all(m for m, _ in before[:6])
    finally:
        migrated.close()
        fresh.close()
