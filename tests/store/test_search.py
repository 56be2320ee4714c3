"""Search by _id and _lastUpdated with sort, totals and keyset paging, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from yteso.fhir.errors import Invalid
from yteso.store import SearchParam, SearchQuery, SqlStore, open_store
from yteso.store.paging_cursors import PageCursor, encode_cursor

START = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    """Ten Patients p0..p9 written one hour apart from START, plus one Basic and one deleted."""
    opened = open_store(store_url)
    moments = iter([START + timedelta(hours=i) for i in range(12)])
    opened.clock = lambda: next(moments)
    with opened.session() as session:
        for i in range(10):
            session.update({"resourceType": "Patient", "id": f"p{i}"})
        session.update({"resourceType": "Basic", "id": "b0", "code": {"text": "x"}})
    with opened.session() as session:
        session.delete("Patient", "p9")
    opened.clock = lambda: START + timedelta(days=1)
    yield opened
    opened.close()


def ids(
    store: SqlStore, resource_type: str | None, *params: tuple[str, str], **kw: object
) -> list[str]:
    query = SearchQuery(params=tuple(SearchParam(n, tuple(v.split(","))) for n, v in params), **kw)  # type: ignore[arg-type]
    return [m.id for m in store.search(resource_type, query).matches]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ((), [f"p{i}" for i in range(9)]),
        ((("_id", "p3"),), ["p3"]),
        ((("_id", "p3,p5,nope"),), ["p3", "p5"]),
        ((("_id", "p9"),), []),  # deleted
        ((("_lastUpdated", "2024-03-10T14:00:00Z"),), ["p2"]),
        ((("_lastUpdated", "2024-03-10T14"),), None),  # hour only: invalid precision
        ((("_lastUpdated", "2024-03-10T14:00"),), ["p2"]),
        ((("_lastUpdated", "gt2024-03-10T14:00:00Z"),), ["p3", "p4", "p5", "p6", "p7", "p8"]),
        ((("_lastUpdated", "sa2024-03-10T14:00:00Z"),), ["p3", "p4", "p5", "p6", "p7", "p8"]),
        ((("_lastUpdated", "ge2024-03-10T19:00:00Z"),), ["p7", "p8"]),
        ((("_lastUpdated", "lt2024-03-10T14:00:00Z"),), ["p0", "p1"]),
        ((("_lastUpdated", "eb2024-03-10T14:00:00Z"),), ["p0", "p1"]),
        ((("_lastUpdated", "le2024-03-10T13:00:00Z"),), ["p0", "p1"]),
        ((("_lastUpdated", "ne2024-03-10"),), []),
        ((("_lastUpdated", "2024-03-10"),), [f"p{i}" for i in range(9)]),
        ((("_lastUpdated", "2024-03"),), [f"p{i}" for i in range(9)]),
        ((("_lastUpdated", "2023"),), []),
        ((("_lastUpdated", "2024-03-10T12:00:00Z,2024-03-10T20:00:00Z"),), ["p0", "p8"]),
        (
            (
                ("_lastUpdated", "ge2024-03-10T13:00:00Z"),
                ("_lastUpdated", "lt2024-03-10T15:00:00Z"),
            ),
            ["p1", "p2"],
        ),
        ((("_lastUpdated", "2024-03-10T19:30:00+07:00"),), []),  # 12:30 UTC: nothing then
        ((("_lastUpdated", "2024-03-10T19:00+07:00"),), ["p0"]),
        ((("_id", "p1,p2"), ("_lastUpdated", "gt2024-03-10T13:00:00Z")), ["p2"]),
    ],
)
def test_search_filters(
    store: SqlStore, params: tuple[tuple[str, str], ...], expected: list[str] | None
) -> None:
    if expected is None:
        with pytest.raises(Invalid):
            ids(store, "Patient", *params)
        return
    assert ids(store, "Patient", *params) == expected


def test_system_search_spans_types(store: SqlStore) -> None:
    assert ids(store, None, ("_lastUpdated", "ge2024-03-10T20:00:00Z")) == ["p8", "b0"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (("_id",), [f"p{i}" for i in range(9)]),
        (("-_id",), [f"p{i}" for i in reversed(range(9))]),
        (("-_lastUpdated",), [f"p{i}" for i in reversed(range(9))]),
        (("_lastUpdated", "-_id"), [f"p{i}" for i in range(9)]),
    ],
)
def test_sort_and_paging_both_ways(
    store: SqlStore, sort: tuple[str, ...], expected: list[str]
) -> None:
    seen: list[str] = []
    pages = []
    cursor = None
    while True:
        result = store.search(
            "Patient", SearchQuery(count=2, sort=sort, cursor=cursor, total="accurate")
        )
        assert result.total == 9
        pages.append(([m.id for m in result.matches], result.previous_cursor))
        seen.extend(m.id for m in result.matches)
        if result.next_cursor is None:
            break
        cursor = result.next_cursor
    assert seen == expected
    assert len(pages) == 5 and pages[0][1] is None
    back = []  # walk back from the last page with previous links
    cursor = pages[-1][1]
    while cursor is not None:
        result = store.search("Patient", SearchQuery(count=2, sort=sort, cursor=cursor))
        back.append([m.id for m in result.matches])
        cursor = result.previous_cursor
    assert back == [ids_ for ids_, _ in reversed(pages[:-1])]


@pytest.mark.parametrize(
    ("total", "expected"), [(None, None), ("none", None), ("accurate", 9), ("estimate", 9)]
)
def test_total(store: SqlStore, total: str | None, expected: int | None) -> None:
    assert store.search("Patient", SearchQuery(count=1, total=total)).total == expected


def test_count_zero_gives_only_total(store: SqlStore) -> None:
    result = store.search("Patient", SearchQuery(count=0, total="accurate"))
    assert result.matches == [] and result.total == 9


@pytest.mark.parametrize(
    ("query", "named"),
    [
        (SearchQuery(params=(SearchParam("no-such-param", ("x",)),)), "no-such-param"),
        (SearchQuery(params=(SearchParam("_id", ("x",), "exact"),)), "_id"),
        (SearchQuery(sort=("no-such-param",)), "_sort"),
        (SearchQuery(total="some"), "_total"),
        (SearchQuery(cursor="garbage!"), "_cursor"),
        (SearchQuery(cursor=encode_cursor(PageCursor(("x",)))), "_cursor"),  # seq must be int
        (SearchQuery(sort=("_id",), cursor=encode_cursor(PageCursor((1, 2)))), "_cursor"),
        (
            SearchQuery(sort=("_lastUpdated",), cursor=encode_cursor(PageCursor(("x", 2)))),
            "_cursor",
        ),
        (SearchQuery(params=(SearchParam("_lastUpdated", ("gt-soon",)),)), "_lastUpdated"),
    ],
)
def test_bad_searches_name_the_problem(store: SqlStore, query: SearchQuery, named: str) -> None:
    with pytest.raises(Invalid) as caught:
        store.search("Patient", query)
    assert named in caught.value.issues[0].expression or named in str(caught.value)


def test_supported_search_params(store: SqlStore) -> None:
    supported = store.supported_search_params("Patient")
    assert {"_id", "_lastUpdated", "name", "birthdate", "identifier", "_has"} <= supported
    assert "code" not in supported  # an Observation parameter


def test_open_store_loads_the_search_parameter_registry(store_url: str) -> None:
    """The registry is parsed when a store opens, not by the first search of the process."""
    from yteso.fhir.definitions import loader

    loader._search_parameters_by_base.cache_clear()
    loader.search_parameters.cache_clear()
    opened = open_store(store_url)
    try:
        assert loader._search_parameters_by_base.cache_info().currsize == 1
        query = SearchQuery(params=(SearchParam("gender", ("other",)),))
        assert opened.search("Patient", query).matches == []
        assert loader._search_parameters_by_base.cache_info().misses == 1
    finally:
        opened.close()
