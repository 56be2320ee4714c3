"""``_list``: the resources a List references, on both backends.

https://hl7.org/fhir/R4/search.html#list — ``Patient?_list=42`` finds the Patients List/42
holds in ``entry.item``; at system level every referenced resource.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from yteso.fhir.errors import Invalid
from yteso.store import SearchParam, SearchQuery, SqlStore, open_store


def _list(id: str, *items: str) -> dict[str, object]:
    listed: dict[str, object] = {"resourceType": "List", "id": id, "status": "current"}
    listed["mode"] = "working"
    if items:
        listed["entry"] = [{"item": {"reference": item}} for item in items]
    return listed


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    patients = [{"resourceType": "Patient", "id": f"p{i}"} for i in range(1, 5)]
    group = {"resourceType": "Group", "id": "g1", "type": "person", "actual": True}
    opened.bulk_write(
        [
            *patients,
            group,
            _list("ward-a", "Patient/p1", "Patient/p2", "Group/g1"),
            _list("ward-b", "Patient/p3", "Patient/p2"),
            _list("empty"),
        ]
    )
    yield opened
    opened.close()


def found(store: SqlStore, resource_type: str | None, *params: SearchParam) -> set[str]:
    result = store.search(resource_type, SearchQuery(params=params, count=100))
    return {f"{m.resource_type}/{m.id}" for m in result.matches}


def L(value: str, modifier: str | None = None) -> SearchParam:
    return SearchParam("_list", tuple(value.split(",")), modifier)


CASES: list[tuple[str | None, tuple[SearchParam, ...], set[str]]] = [
    ("Patient", (L("ward-a"),), {"Patient/p1", "Patient/p2"}),
    ("Patient", (L("ward-a,ward-b"),), {"Patient/p1", "Patient/p2", "Patient/p3"}),
    ("Patient", (L("ward-a"), L("ward-b")), {"Patient/p2"}),  # AND
    ("Patient", (L("empty"),), set()),
    ("Patient", (L("nonexistent"),), set()),
    ("Group", (L("ward-a"),), {"Group/g1"}),
    (None, (L("ward-a"),), {"Patient/p1", "Patient/p2", "Group/g1"}),
    ("Patient", (L("ward-b"), SearchParam("_id", ("p3", "p4"))), {"Patient/p3"}),
]


@pytest.mark.parametrize(("resource_type", "params", "expected"), CASES)
def test_list(
    store: SqlStore, resource_type: str | None, params: tuple[SearchParam, ...], expected: set[str]
) -> None:
    assert found(store, resource_type, *params) == expected


def test_list_follows_list_updates_and_deletes(store: SqlStore) -> None:
    with store.session() as session:
        session.update(_list("ward-a", "Patient/p4"))
    assert found(store, "Patient", L("ward-a")) == {"Patient/p4"}
    with store.session() as session:
        session.delete("List", "ward-a")
    assert found(store, "Patient", L("ward-a")) == set()


@pytest.mark.parametrize(
    ("param", "named"), [(L("$current-allergies"), "functional"), (L("ward-a", "x"), "modifier")]
)
def test_unsupported_list_forms_are_invalid(
    store: SqlStore, param: SearchParam, named: str
) -> None:
    with pytest.raises(Invalid, match=named) as raised:
        found(store, "Patient", param)
    assert raised.value.issues[0].expression == ("_list",)
