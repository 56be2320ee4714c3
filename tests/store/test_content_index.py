"""The per-deployment ``_content`` text index: same results on or off, on both backends.

``SqlStore.set_content_index`` fills (or empties) the trigram index of the ``_content`` rows
in the transaction that sets the option; writes keep it in step; searches return exactly what
the plain ``LIKE`` scan returns. https://hl7.org/fhir/R4/search.html#content
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from yteso.store import SearchParam, SearchQuery, SqlStore, open_store


def _patient(id: str, city: str, note: str = "") -> dict[str, object]:
    address = {"city": city, "line": [note]} if note else {"city": city}
    return {"resourceType": "Patient", "id": id, "address": [address]}


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    opened.bulk_write(
        [
            _patient("hue", "Huế"),
            _patient("hanoi", "Hà Nội", "phố Huế"),
            _patient("hcm", "Hồ Chí Minh"),
            _patient("danang", "Đà Nẵng"),
        ]
    )
    yield opened
    opened.close()


def _content(store: SqlStore, *values: str) -> set[str]:
    query = SearchQuery(params=(SearchParam("_content", values),), count=100)
    return {m.id for m in store.search("Patient", query).matches}


CASES = [
    (("hue",), {"hue", "hanoi"}),
    (("pho hue",), {"hanoi"}),
    (("chi minh",), {"hcm"}),
    (("nang", "noi"), {"danang", "hanoi"}),
    (("đà",), {"danang"}),  # short texts (under 3 characters after folding: "da") scan
    (("saigon",), set()),
]


def _indexed_rows(store: SqlStore, text: str) -> int:
    """Rows the trigram index itself finds for ``text`` (not the LIKE scan)."""
    with store.backend.reading() as db:
        if store.dialect == "sqlite":
            match = " AND ".join(f'"{text[i : i + 3]}"' for i in range(len(text) - 2))
            sql = "SELECT count(*) FROM search_text_fts WHERE search_text_fts MATCH ?"
            return int(db.rows(sql, (match,))[0][0])
        # this test's schema only: concurrent runs share the database
        sql = (
            "SELECT count(*) FROM pg_indexes"
            " WHERE indexname = 'search_content_trigram' AND schemaname = current_schema()"
        )
        return int(db.rows(sql)[0][0])


def test_results_are_the_same_with_the_index_on_and_off(store: SqlStore) -> None:
    before = {values: _content(store, *values) for values, _ in CASES}
    assert before == {values: expected for values, expected in CASES}
    assert _indexed_rows(store, "minh") == 0
    assert store.set_content_index(True) and not store.set_content_index(True)
    assert store.backend.dialect.content_index
    assert _indexed_rows(store, "minh") == 1
    assert {values: _content(store, *values) for values, _ in CASES} == before
    with store.session() as session:  # writes keep the index in step
        session.update(_patient("hcm", "Sài Gòn"))
        session.update(_patient("vinh", "Vinh", "gần Hồ Chí Minh"))
        session.delete("Patient", "hue")
    assert _content(store, "chi minh") == {"vinh"}
    assert _content(store, "sai gon") == {"hcm"}
    assert _content(store, "hue") == {"hanoi"}
    store.bulk_write([_patient("hue", "Huế")])
    assert _content(store, "hue") == {"hanoi", "hue"}
    assert store.set_content_index(False)
    assert not store.backend.dialect.content_index
    assert _indexed_rows(store, "minh") == 0
    assert _content(store, "chi minh") == {"vinh"}


def test_another_store_follows_the_option(store: SqlStore, store_url: str) -> None:
    other = open_store(store_url)
    try:
        store.set_content_index(True)
        assert _content(other, "chi minh") == {"hcm"}
        assert other.backend.dialect.content_index  # read with the registry signature
        store.set_content_index(False)
        assert _content(other, "chi minh") == {"hcm"}
        assert not other.backend.dialect.content_index
    finally:
        other.close()
