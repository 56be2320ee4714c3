"""Create, read, vread, update, delete and sessions on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from yteso.fhir.errors import Conflict, Gone, Invalid, NotFound, PreconditionFailed
from yteso.store import SqlStore, open_store
from yteso.store.instants import parse_instant
from yteso.store.resource_ids import new_resource_id

PATIENT = {
    "resourceType": "Patient",
    "meta": {
        "profile": ["http://fhir.hl7.org.vn/core/StructureDefinition/vn-core-patient"],
        "tag": [{"system": "urn:t", "code": "demo"}],
        "versionId": "99",
        "source": "urn:src",
    },
    "name": [{"family": "Nguyễn", "given": ["Văn", "An"]}],
    "gender": "male",
    "birthDate": "1990-01-02",
}


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def test_create_assigns_id_and_meta_keeping_client_meta(store: SqlStore) -> None:
    with store.session() as session:
        result = session.create(PATIENT)
    assert result.created and result.changed
    stored = store.read("Patient", result.stored.id)
    assert stored.body == result.stored.body  # the exact bytes written
    body = orjson.loads(stored.body)
    assert body["meta"]["versionId"] == "1"
    assert parse_instant(body["meta"]["lastUpdated"]) == stored.last_updated
    assert body["meta"]["lastUpdated"].endswith("Z") and len(body["meta"]["lastUpdated"]) == 24
    for kept in ("profile", "tag", "source"):
        assert body["meta"][kept] == PATIENT["meta"][kept]
    assert {k: v for k, v in body.items() if k not in ("id", "meta")} == {
        k: v for k, v in PATIENT.items() if k != "meta"
    }
    assert len(stored.id) >= 20 and stored.method == "POST"


def test_server_ids_are_unique_and_sortable(store: SqlStore) -> None:
    with store.session() as session:
        ids = [
            session.create({"resourceType": "Basic", "code": {"text": "x"}}).stored.id
            for _ in range(50)
        ]
    assert len(set(ids)) == 50
    assert ids == sorted(ids)


def test_update_versions_and_vread(store: SqlStore) -> None:
    with store.session() as session:
        first = session.update({**PATIENT, "id": "p1"})
        second = session.update({**PATIENT, "id": "p1", "gender": "female"}, if_match=1)
    assert first.created and not second.created
    assert (first.stored.version, second.stored.version) == (1, 2)
    assert store.read("Patient", "p1").resource()["gender"] == "female"
    assert store.vread("Patient", "p1", 1).resource()["gender"] == "male"
    with pytest.raises(NotFound):
        store.vread("Patient", "p1", 3)


@pytest.mark.parametrize(("if_match", "error"), [(1, PreconditionFailed), (3, PreconditionFailed)])
def test_update_if_match_mismatch(store: SqlStore, if_match: int, error: type[Exception]) -> None:
    with store.session() as session:
        session.update({**PATIENT, "id": "p1"})
        session.update({**PATIENT, "id": "p1"})
    with pytest.raises(error), store.session() as session:
        session.update({**PATIENT, "id": "p1"}, if_match=if_match)
    assert store.read("Patient", "p1").version == 2


def test_delete_is_idempotent_and_update_recreates(store: SqlStore) -> None:
    with store.session() as session:
        session.update({**PATIENT, "id": "p1"})
        assert session.delete("Patient", "p1") is True
        assert session.delete("Patient", "p1") is False
        assert session.delete("Patient", "never") is False
    with pytest.raises(Gone):
        store.read("Patient", "p1")
    with pytest.raises(Gone):
        store.vread("Patient", "p1", 2)
    with pytest.raises(NotFound):
        store.read("Patient", "never")
    with store.session() as session:
        again = session.update({**PATIENT, "id": "p1"})
    assert again.created and again.stored.version == 3
    assert store.read("Patient", "p1").version == 3


def test_create_with_existing_id_conflicts(store: SqlStore) -> None:
    with store.session() as session:
        session.create(PATIENT, id="fixed")
    with pytest.raises(Conflict), store.session() as session:
        session.create(PATIENT, id="fixed")


@pytest.mark.parametrize(
    "resource",
    [
        {"id": "x"},
        {"resourceType": "Patient", "id": "bad id with spaces"},
        {"resourceType": 7},
    ],
)
def test_invalid_resources_are_never_stored(store: SqlStore, resource: dict[str, object]) -> None:
    with pytest.raises(Invalid) as caught, store.session() as session:
        session.update({**resource, "id": resource.get("id", "x")})
    assert caught.value.issues
    assert store.counts() == {}
    with pytest.raises(Invalid):
        store.bulk_write([PATIENT, resource])
    assert store.counts() == {}


def test_session_is_all_or_nothing(store: SqlStore) -> None:
    with pytest.raises(RuntimeError), store.session() as session:
        session.update({**PATIENT, "id": "a"})
        session.create(PATIENT)
        raise RuntimeError("boom")
    assert store.counts() == {}
    assert store.history().matches == []


def test_counts_and_iter_current(store: SqlStore) -> None:
    store.bulk_write([{**PATIENT, "id": f"p{i}"} for i in range(3)])
    store.bulk_write([{"resourceType": "Basic", "id": "b", "code": {"text": "x"}}])
    with store.session() as session:
        session.delete("Patient", "p0")
    assert store.counts() == {"Patient": 2, "Basic": 1}
    assert sorted(s.id for s in store.iter_current()) == ["b", "p1", "p2"]
    assert [s.id for s in store.iter_current("Patient")] == ["p1", "p2"]


def test_bulk_write_updates_existing_with_next_version(store: SqlStore) -> None:
    store.bulk_write([{**PATIENT, "id": "p"}])
    store.bulk_write([{**PATIENT, "id": "p", "gender": "other"}, {**PATIENT, "id": "p"}])
    current = store.read("Patient", "p")
    assert current.version == 3
    assert current.resource()["meta"]["versionId"] == "3"
    assert store.vread("Patient", "p", 2).resource()["gender"] == "other"


def test_unsupported_url(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        open_store("mysql://x")


def test_create_many_assigns_ids_in_order_in_one_session(store: SqlStore) -> None:
    resources = [{**PATIENT, "id": "ignored", "gender": g} for g in ("male", "female", "other")]
    with store.session() as session:
        results = session.create_many(resources)
        session.update({**PATIENT, "id": "single"})
    assert [r.stored.resource()["gender"] for r in results] == ["male", "female", "other"]
    assert all(r.created and r.stored.version == 1 and r.stored.method == "POST" for r in results)
    assert len({r.stored.id for r in results} | {"ignored"}) == 4
    for result in results:
        assert store.read("Patient", result.stored.id).body == result.stored.body
    assert store.counts() == {"Patient": 4}


def test_create_many_takes_ids_the_caller_assigned(store: SqlStore) -> None:
    ids = [new_resource_id(), new_resource_id()]
    with store.session() as session:
        results = session.create_many([PATIENT, PATIENT], ids=ids)
    assert [r.stored.id for r in results] == ids
    assert [store.read("Patient", id).resource()["id"] for id in ids] == ids
    assert all(r.created and r.stored.method == "POST" for r in results)


def test_create_many_rejects_all_with_every_issue(store: SqlStore) -> None:
    bad = [PATIENT, {"resourceType": "Patient", "gender": 1}, {"resourceType": "Patient", "x": 2}]
    with pytest.raises(Invalid) as caught, store.session() as session:
        session.create_many(bad)
    diagnostics = " ".join(issue.diagnostics for issue in caught.value.issues)
    assert "resource 1:" in diagnostics and "resource 2:" in diagnostics
    assert store.counts() == {}


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("a\u0000b", False),
        ("bell\u0007", False),
        ("\u001f", False),
        ("tab\tcr\rlf\n", True),
        ("backslash then u0000: \\u0000", True),  # the text, not a control character
        ("del\u007f and Nguyễn", True),
    ],
)
def test_control_characters_are_rejected(store: SqlStore, text: str, accepted: bool) -> None:
    resource = {"resourceType": "Patient", "id": "p", "name": [{"text": text}]}
    if accepted:
        with store.session() as session:
            session.update(resource)
        assert store.read("Patient", "p").resource()["name"][0]["text"] == text
        return
    with pytest.raises(Invalid), store.session() as session:
        session.update(resource)
    with pytest.raises(Invalid):
        store.bulk_write([resource])
    assert store.counts() == {}


def test_a_patient_with_a_malformed_citizen_id_is_rejected_and_nothing_stored(
    store_url: str,
) -> None:
    from yteso.fhir.errors import Invalid
    from yteso.fhir.vn_core import CCCD_SYSTEM
    from yteso.store import open_store

    store = open_store(store_url)
    try:
        patient = {
            "resourceType": "Patient",
            "gender": "female",
            "birthDate": "1993-03-28",
            # 082 = Tiền Giang; digit 1 = female born in the 1900s; 93 = birth year
            "identifier": [{"system": CCCD_SYSTEM, "value": "082193312208"}],
        }
        with store.session() as session:
            session.create(dict(patient))
        wrong_year = {**patient, "identifier": [{"system": CCCD_SYSTEM, "value": "082185312208"}]}
        with pytest.raises(Invalid) as caught, store.session() as session:
            session.create(wrong_year)
        paths = [p for issue in caught.value.issues for p in issue.expression]
        assert "Patient.identifier[0].value" in paths
        assert store.counts() == {"Patient": 1}
    finally:
        store.close()
