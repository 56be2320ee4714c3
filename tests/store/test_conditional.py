"""Conditional create, update and delete: the 0/1/many rules of
https://hl7.org/fhir/R4/http.html#ccreate and #cond-update, on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from yteso.fhir.errors import Invalid, PreconditionFailed
from yteso.store import SearchParam, SearchQuery, SqlStore, open_store


def by_id(*ids: str) -> SearchQuery:
    return SearchQuery(params=(SearchParam("_id", ids),))


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    opened.bulk_write([{"resourceType": "Patient", "id": i} for i in ("a", "b")])
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("criteria", "created", "error"),
    [(("zz",), True, None), (("a",), False, None), (("a", "b"), False, PreconditionFailed)],
)
def test_conditional_create(
    store: SqlStore, criteria: tuple[str, ...], created: bool, error: type[Exception] | None
) -> None:
    resource = {"resourceType": "Patient", "gender": "male"}
    if error is not None:
        with pytest.raises(error), store.session() as session:
            session.create(resource, if_none_exist=by_id(*criteria))
        assert store.counts() == {"Patient": 2}
        return
    with store.session() as session:
        result = session.create(resource, if_none_exist=by_id(*criteria))
    assert result.created is created and result.changed is created
    assert store.counts() == {"Patient": 3 if created else 2}
    if not created:
        assert result.stored.id == "a" and "gender" not in result.stored.resource()


@pytest.mark.parametrize(
    ("criteria", "body_id", "outcome"),
    [
        (("zz",), None, "created"),  # no match, no id: create with a server id
        (("zz",), "given", "created"),  # no match, id: update-as-create with that id
        (("a",), None, "updated"),
        (("a",), "a", "updated"),
        (("a",), "b", Invalid),  # one match but another id
        (("a", "b"), None, PreconditionFailed),
    ],
)
def test_conditional_update(
    store: SqlStore, criteria: tuple[str, ...], body_id: str | None, outcome: object
) -> None:
    resource: dict[str, object] = {"resourceType": "Patient", "gender": "female"}
    if body_id:
        resource["id"] = body_id
    if isinstance(outcome, type):
        with pytest.raises(outcome), store.session() as session:
            session.conditional_update(resource, by_id(*criteria))
        return
    with store.session() as session:
        result = session.conditional_update(resource, by_id(*criteria))
    assert result.created is (outcome == "created")
    stored = store.read("Patient", result.stored.id)
    assert stored.resource()["gender"] == "female"
    if body_id:
        assert stored.id == body_id
    if outcome == "updated":
        assert (stored.id, stored.version) == ("a", 2)


@pytest.mark.parametrize(
    ("criteria", "multiple", "outcome", "left"),
    [
        (("zz",), False, 0, 2),
        (("a",), False, 1, 1),
        (("a", "b"), False, PreconditionFailed, 2),
        (("a", "b"), True, 2, 0),
    ],
)
def test_conditional_delete(
    store: SqlStore, criteria: tuple[str, ...], multiple: bool, outcome: object, left: int
) -> None:
    if isinstance(outcome, type):
        with pytest.raises(outcome), store.session() as session:
            session.conditional_delete("Patient", by_id(*criteria), multiple=multiple)
    else:
        with store.session() as session:
            assert (
                session.conditional_delete("Patient", by_id(*criteria), multiple=multiple)
                == outcome
            )
    assert store.counts().get("Patient", 0) == left
