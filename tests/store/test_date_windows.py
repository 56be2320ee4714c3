"""Date overlap searches scanned per width class (migration 0007, ``search_date_window``), on
both backends: the generated ``width_class`` of each stored range, and ``ge``/``gt`` with
``lt``/``le`` pairs and ``ap`` over ranges of every width (instants, days, Periods crossing
February and years, open ends) give exactly the ids the plain range semantics give.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import module_store_url
from yteso.fhir.types import Json
from yteso.store import SearchParam, SearchQuery, SqlStore, open_store
from yteso.store.date_ranges import parse_date_range
from yteso.store.instants import format_instant
from yteso.store.search_date_window import UNBOUNDED_CLASS, WIDTH_BOUNDS
from yteso.store.search_sql import plan_search
from yteso.store.search_values import split_prefix

NOW = datetime(2025, 6, 1, tzinfo=UTC)
# (start, end) of effectivePeriod; None for an open end. Widths from a millisecond to decades,
# including spans that cross short months, where real days and 31-day-month days differ most.
PERIODS: list[tuple[str | None, str | None]] = [
    ("2025-02-27T10:00:00Z", "2025-02-27T10:00:00.001Z"),
    ("2025-02-27T23:00:00Z", "2025-02-28T01:00:00Z"),
    ("2025-02-28T12:00:00Z", "2025-03-01T12:00:00Z"),
    ("2025-02-26", "2025-03-02"),
    ("2025-02-20", "2025-03-03"),
    ("2025-01-31", "2025-03-01"),
    ("2024-12-15", "2025-03-20"),
    ("2024-03-01", "2025-03-01"),
    ("2015-01-01", "2025-02-28"),
    ("1990-01-01", "2025-03-01"),
    (None, "2025-03-01"),
    ("2025-02-28", None),
    ("2025-03-04", "2025-03-04"),
    ("2025-03-05T00:00:00Z", "2025-03-05T00:00:00Z"),
]
DATES = ["2025", "2025-02", "2025-02-28", "2025-03-01T00:00:00Z", "2025-03-04T09:30:00+07:00"]
WINDOWS = [
    (("ge2025-03-01",), ("lt2025-03-02",)),
    (("ge2025-02-28",), ("lt2025-03-01",)),
    (("gt2025-02-27",), ("le2025-02-28",)),
    (("ge2025-03",), ("lt2025-04",)),
    (("ge2025-03-01T11:00:00Z",), ("le2025-03-01T13:00:00Z",)),
    (("lt2025-03-05",), ("ge2025-03-04",)),
    (("ge2020",), ("lt2021",)),
    (("ge2025-02-28T00:30:00Z",), ("lt2025-02-28T00:40:00Z",)),
]


def _observation(number: int, **effective: object) -> Json:
    return {
        "resourceType": "Observation",
        "id": f"o{number}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        **effective,
    }


def _population() -> list[Json]:
    rng = random.Random(4)
    out = []
    for start, end in PERIODS:
        period = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
        out.append(_observation(len(out), effectivePeriod=period))
    for moment in DATES:
        out.append(_observation(len(out), effectiveDateTime=moment))
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for _ in range(150):  # random spans of every class around the windows above
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 120))
        width = timedelta(minutes=rng.choice([0, 30, 600, 1500, 4000, 12000, 45000, 140000]))
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        period = {"start": start.strftime(stamp), "end": (start + width).strftime(stamp)}
        out.append(_observation(len(out), effectivePeriod=period))
    return out


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlStore]:
    with module_store_url(request, tmp_path_factory, "windows") as url:
        opened = open_store(url)
        opened.bulk_write(_population())
        opened.clock = lambda: NOW
        yield opened
        opened.close()


def _rows(store: SqlStore) -> list[tuple[str, str, str, int]]:
    with store.backend.reading() as db:
        rows = db.rows(
            "SELECT id, low, high, width_class FROM search_date"
            " WHERE resource_type = 'Observation' AND param = 'date' ORDER BY id"
        )
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]  # type: ignore[call-overload]


def _month_days(text: str) -> int:
    return (int(text[:4]) * 12 + int(text[5:7])) * 31 + int(text[8:10])


def _reference_class(low: str, high: str) -> int:
    span = _month_days(high) - _month_days(low)
    return next((i for i, bound in enumerate(WIDTH_BOUNDS) if span <= bound), UNBOUNDED_CLASS)


def test_width_class_of_every_row(store: SqlStore) -> None:
    rows = _rows(store)
    assert len(rows) == len(PERIODS) + len(DATES) + 150
    for _, low, high, width_class in rows:
        assert width_class == _reference_class(low, high), (low, high)
        if width_class != UNBOUNDED_CLASS:  # the guarantee the window relies on
            real = datetime.fromisoformat(high) - datetime.fromisoformat(low)
            assert real < timedelta(days=WIDTH_BOUNDS[width_class] + 1), (low, high)
    # Spot checks: an instant, a day, a Period across February, an open end.
    by_id = {r[0]: r[3] for r in rows}
    assert (by_id["o0"], by_id["o2"], by_id["o3"], by_id["o4"], by_id["o5"]) == (0, 2, 3, 4, 5)
    assert (by_id["o9"], by_id["o10"], by_id["o11"]) == (UNBOUNDED_CLASS,) * 3


def _tests(value: str) -> tuple[str, str, str]:
    prefix, text = split_prefix(value)
    span = parse_date_range(text)
    if prefix == "ap":
        slack = abs(NOW - span.start) * 0.1
        return prefix, format_instant(span.start - slack), format_instant(span.end + slack)
    return prefix, format_instant(span.start), format_instant(span.end)


def _holds(value: str, low: str, high: str) -> bool:
    """The range semantics of ``search_conditions._date``, in Python (the oracle)."""
    prefix, start, end = _tests(value)
    inside = low >= start and high <= end
    return {
        "ge": high > start and (high > end or inside),
        "gt": high > end,
        "lt": low < start,
        "le": low < end and (low < start or inside),
        "ap": low < end and high > start,
    }[prefix]


def _expected(store: SqlStore, values: list[str]) -> set[str]:
    return {i for i, low, high, _ in _rows(store) if all(_holds(v, low, high) for v in values)}


def _found(store: SqlStore, values: list[str]) -> set[str]:
    params = tuple(SearchParam("date", (v,)) for v in values)
    return {
        m.id for m in store.search("Observation", SearchQuery(params=params, count=1000)).matches
    }


@pytest.mark.parametrize(("first", "second"), WINDOWS)
def test_window_pairs_match_the_range_semantics(
    store: SqlStore, first: tuple[str], second: tuple[str]
) -> None:
    values = [*first, *second]
    expected = _expected(store, values)
    assert expected, "each window should find something"
    assert _found(store, values) == expected


@pytest.mark.parametrize("value", ["ap2025-03-01", "ap2025-02-28T12:00:00Z", "ap2025-03", "ap2020"])
def test_ap_matches_the_range_semantics(store: SqlStore, value: str) -> None:
    assert _found(store, [value]) == _expected(store, [value])


def test_random_windows(store: SqlStore) -> None:
    rng = random.Random(11)
    for _ in range(40):
        day = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(0, 24 * 130))
        length = timedelta(hours=rng.choice([1, 5, 24, 72, 24 * 10, 24 * 40]))
        low_prefix, high_prefix = rng.choice(["ge", "gt"]), rng.choice(["lt", "le"])
        stamp = rng.choice(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ"])
        values = [f"{low_prefix}{day:{stamp}}", f"{high_prefix}{day + length:{stamp}}"]
        assert _found(store, values) == _expected(store, values), values


def test_window_uses_the_class_index(store: SqlStore) -> None:
    """The pair becomes one bounded range per class (a plan detail worth pinning)."""
    query = SearchQuery(
        params=(SearchParam("date", ("ge2025-03-01",)), SearchParam("date", ("lt2025-03-02",)))
    )
    plan = plan_search(store.backend.dialect, "Observation", query, NOW)
    assert plan.page.sql.count("s.width_class = ") == UNBOUNDED_CLASS + 1
    assert plan.page.sql.count("s.low >= ") >= UNBOUNDED_CLASS


@pytest.mark.parametrize(
    "values", [[*first, *second] for first, second in WINDOWS] + [["ap2025-03-01"], ["ap2020"]]
)
def test_large_windows_are_probed_per_row(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, values: list[str]
) -> None:
    """A window whose set is large (here: any) becomes a per-row probe without the windows:
    the same exact ids, and the plan says so."""
    import yteso.store.search_filters as search_filters

    monkeypatch.setattr(search_filters, "LARGE_WINDOW", 1)
    assert _found(store, values) == _expected(store, values)
    params = tuple(SearchParam("date", (v,)) for v in values)
    plan = plan_search(store.backend.dialect, "Observation", SearchQuery(params=params), NOW, _one)
    assert "EXISTS (SELECT 1 FROM search_date s WHERE s.id = c.id" in plan.page.sql
    assert "width_class" not in plan.page.sql


def _one(statement: object) -> int:
    return 1


@pytest.mark.parametrize("values", [[*first, *second] for first, second in WINDOWS[:6]])
def test_medium_windows_are_hashed_on_postgresql(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, values: list[str]
) -> None:
    """A window set of LARGE_SET rows or more (here: any) is, on PostgreSQL, one hashed
    membership test walked in seq order: the same ids in the same order, page by page, and
    the same total (a total keeps the set); SQLite keeps the set."""
    import yteso.store.search_filters as search_filters

    params = tuple(SearchParam("date", (v,)) for v in values)
    query = SearchQuery(params=params, count=1, total="accurate")
    before = _pages(store, query)
    monkeypatch.setattr(search_filters, "LARGE_SET", 1)
    assert _pages(store, query) == before
    assert set(before[0]) == _expected(store, values)
    plan = plan_search(store.backend.dialect, "Observation", query, NOW, _one)
    hashed = store.dialect == "postgresql"
    assert ("(c.id IN (SELECT s.id FROM search_date s" in plan.page.sql) == hashed
    assert ") IS TRUE ORDER BY" in plan.page.sql if hashed else "IS TRUE" not in plan.page.sql
    assert plan.total is not None and "IS TRUE" not in plan.total.sql


def _pages(store: SqlStore, query: SearchQuery) -> tuple[list[str], int | None]:
    result = store.search("Observation", query)
    ids, total = [m.id for m in result.matches], result.total
    while result.next_cursor is not None:
        next_query = SearchQuery(params=query.params, count=1, cursor=result.next_cursor)
        result = store.search("Observation", next_query)
        ids += [m.id for m in result.matches]
    return ids, total
