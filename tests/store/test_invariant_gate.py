"""The store's write gate rejects resources breaking an R4 invariant, storing nothing.

https://hl7.org/fhir/R4/conformance-rules.html#constraints. The same cases as the HTTP tests
(``tests/api/test_invariant_writes.py``) against the store interface itself: create, update and
bulk writes raise ``Invalid`` with an issue naming the constraint key and the element, and the
previous version stays current. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.test_invariant_writes import BREACHES, Breach
from yteso.fhir.errors import Invalid, Issue
from yteso.store import SqlStore, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def names_breach(issues: list[Issue], breach: Breach) -> bool:
    return any(
        issue.severity == "error"
        and issue.diagnostics.startswith(f"{breach.key}:")
        and issue.expression == (breach.path,)
        for issue in issues
    )


@pytest.mark.parametrize("breach", BREACHES, ids=lambda breach: breach.key)
def test_create_and_bulk_write_breaking_an_invariant_store_nothing(
    store: SqlStore, breach: Breach
) -> None:
    resource = {**breach.valid, **breach.breaking}
    with pytest.raises(Invalid) as caught, store.session() as session:
        session.create(dict(resource))
    assert names_breach(caught.value.issues, breach)
    with pytest.raises(Invalid) as caught:
        store.bulk_write([{**breach.valid, "id": "ok"}, {**resource, "id": "bad"}])
    assert any(breach.key in issue.diagnostics for issue in caught.value.issues)
    assert store.counts() == {}


@pytest.mark.parametrize("breach", BREACHES, ids=lambda breach: breach.key)
def test_update_breaking_an_invariant_keeps_the_current_version(
    store: SqlStore, breach: Breach
) -> None:
    resource_type = breach.valid["resourceType"]
    with store.session() as session:
        session.update({**breach.valid, "id": "r1"})
    before = store.read(resource_type, "r1")
    with pytest.raises(Invalid) as caught, store.session() as session:
        session.update({**breach.valid, **breach.breaking, "id": "r1"})
    assert names_breach(caught.value.issues, breach)
    after = store.read(resource_type, "r1")
    assert after.version == before.version == 1
    assert after.resource() == before.resource()
    assert not any(key in after.resource() for key in breach.breaking)
