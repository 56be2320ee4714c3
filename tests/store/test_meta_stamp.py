"""The stored body spliced from a resource's own text is the body written from the resource."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from yteso.fhir.errors import Invalid
from yteso.store.meta_stamp import spliced_body, stamped_body

NOW = datetime(2026, 11, 26, 12, 30, 15, 250000, tzinfo=UTC)
SPLICED = [
    {"resourceType": "Patient", "id": "a", "gender": "male"},
    {"resourceType": "Patient", "id": "a"},
    {"resourceType": "Patient"},
    {"resourceType": "Patient", "gender": "male"},
    {"resourceType": "Patient", "id": "a", "meta": {"profile": ["http://x/p"]}, "active": True},
    {"resourceType": "Patient", "id": "a", "meta": {}},
    {"resourceType": "Patient", "meta": {"source": "s", "tag": [{"code": "t"}]}},
    {"resourceType": "Patient", "id": 'a"b', "name": [{"text": "Nguyễn \\ Đặng"}]},
    {"resourceType": "Observation", "id": "o", "valueQuantity": {"value": 1.25, "unit": "kg"}},
]
# the server's keys would land elsewhere than the head of the text: written the long way
WRITTEN = [
    {"resourceType": "Patient", "id": "a", "meta": {"versionId": "7"}},
    {"resourceType": "Patient", "id": "a", "meta": {"lastUpdated": "2020-01-01T00:00:00Z"}},
    {"resourceType": "Patient", "gender": "male", "id": "a"},
    {"resourceType": "Patient", "id": "a", "gender": "male", "meta": {"source": "s"}},
    {"id": "a", "resourceType": "Patient"},
    {"resourceType": "Patient", "id": "a", "meta": None},
    {"resourceType": "Patient", "id": "a", "meta": ["x"]},
]


@pytest.mark.parametrize("resource", SPLICED)
@pytest.mark.parametrize("new_id", [None, "server-id"])
def test_a_spliced_body_is_the_written_body(
    resource: dict[str, object], new_id: str | None
) -> None:
    resource_id = new_id or str(resource.get("id", "x"))
    for version in (1, 2):
        expected = stamped_body(resource, resource_id, version, NOW)
        assert spliced_body(orjson.dumps(resource), resource, resource_id, version, NOW) == expected


@pytest.mark.parametrize("resource", WRITTEN)
def test_a_body_that_would_differ_is_not_spliced(resource: dict[str, object]) -> None:
    assert spliced_body(orjson.dumps(resource), resource, "a", 1, NOW) is None


def test_a_number_id_is_not_mistaken_for_a_longer_one() -> None:
    resource = {"resourceType": "Patient", "id": 12, "active": True}
    text = orjson.dumps(resource)
    assert spliced_body(text, {**resource, "id": 1}, "a", 1, NOW) is None


def test_a_spliced_body_refuses_control_characters() -> None:
    resource = {"resourceType": "Patient", "id": "a", "name": [{"text": "bell\u0007"}]}
    with pytest.raises(Invalid):
        spliced_body(orjson.dumps(resource), resource, "a", 1, NOW)
    escaped = {"resourceType": "Patient", "id": "a", "name": [{"text": "\\u0007 as text"}]}
    assert spliced_body(orjson.dumps(escaped), escaped, "a", 1, NOW) == stamped_body(
        escaped, "a", 1, NOW
    )
