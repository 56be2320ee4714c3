"""Instance, type and system history: newest first, _since, _count, cursor paging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from yteso.fhir.errors import Invalid
from yteso.store import SqlStore, open_store
from yteso.store.paging_cursors import PageCursor, encode_cursor

START = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    """Writes, a minute apart: a1 v1, b1 v1, a1 v2, Basic x v1, a1 deleted (v3)."""
    opened = open_store(store_url)
    moments = iter([START + timedelta(minutes=i) for i in range(10)])
    opened.clock = lambda: next(moments)
    with opened.session() as session:
        session.update({"resourceType": "Patient", "id": "a1"})
        session.update({"resourceType": "Patient", "id": "b1"})
        session.update({"resourceType": "Patient", "id": "a1", "gender": "male"})
        session.update({"resourceType": "Basic", "id": "x", "code": {"text": "x"}})
        session.delete("Patient", "a1")
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("resource_type", "id", "since", "expected"),
    [
        ("Patient", "a1", None, ["a1/3", "a1/2", "a1/1"]),
        ("Patient", None, None, ["a1/3", "a1/2", "b1/1", "a1/1"]),
        (None, None, None, ["a1/3", "x/1", "a1/2", "b1/1", "a1/1"]),
        (None, None, START + timedelta(minutes=2), ["a1/3", "x/1", "a1/2"]),
        ("Patient", "a1", START + timedelta(minutes=3), ["a1/3"]),
        ("Patient", "zz", None, []),
    ],
)
def test_history(
    store: SqlStore,
    resource_type: str | None,
    id: str | None,
    since: datetime | None,
    expected: list[str],
) -> None:
    result = store.history(resource_type, id, since=since)
    assert [f"{v.id}/{v.version}" for v in result.matches] == expected


def test_history_marks_deletes_and_methods(store: SqlStore) -> None:
    newest = store.history("Patient", "a1").matches
    assert [(v.deleted, v.method, bool(v.body)) for v in newest] == [
        (True, "DELETE", False),
        (False, "PUT", True),
        (False, "PUT", True),
    ]
    assert newest[1].resource()["gender"] == "male"


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_history_paging(store: SqlStore, count: int) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = store.history(count=count, cursor=cursor)
        assert len(page.matches) <= count
        seen.extend(f"{v.id}/{v.version}" for v in page.matches)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["a1/3", "x/1", "a1/2", "b1/1", "a1/1"]


@pytest.mark.parametrize("cursor", ["nonsense", encode_cursor(PageCursor(("x",)))])
def test_bad_history_cursor_is_invalid(store: SqlStore, cursor: str) -> None:
    with pytest.raises(Invalid):
        store.history(cursor=cursor)
