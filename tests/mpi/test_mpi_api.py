"""The master patient index through the FHIR API, on SQLite and PostgreSQL: real-time matching
on Patient writes, links and golden Person, $match, $merge and its undo, the review queue."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.fhir_client import FHIR_JSON, FhirClient, create
from yteso.api import OPEN_ACCESS_FOR_TESTS, create_fhir_app
from yteso.api.operations.mpi import mpi_operations
from yteso.app import install_mpi
from yteso.fhir.vn_core import CCCD_SYSTEM, WARD_EXTENSION_URL
from yteso.modules.mpi.records import GOLDEN_TAG, MANAGED_URL, pair_task_id
from yteso.mpi import MatchModel, Thresholds
from yteso.store import open_store

Json = dict[str, Any]


@pytest.fixture
def fhir(store_url: str, tmp_path: Any) -> Iterator[FhirClient]:
    store = open_store(store_url)
    registry = install_mpi(store, tmp_path / "no-model.json", Thresholds(0.99, 0.9))
    assert registry.matcher.model == MatchModel.default()
    app = create_fhir_app(store, access=OPEN_ACCESS_FOR_TESTS, operations=mpi_operations(registry))
    try:
        with FhirClient(app) as client:
            yield client
    finally:
        store.close()


def person(name: str = "Nguyễn Thị Đào", **fields: Any) -> Json:
    family, *given = name.split()
    resource: Json = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": given}],
        "gender": "female",
        "birthDate": "1985-03-04",
        "telecom": [{"system": "phone", "value": "0912345678"}],
        "address": [
            {
                "extension": [
                    {"url": WARD_EXTENSION_URL, "valueCoding": {"code": "00001"}},
                ],
                "city": "Hà Nội",
            }
        ],
    }
    resource.update(fields)
    return resource


def cccd(value: str) -> list[Json]:
    return [{"system": CCCD_SYSTEM, "value": value}]


def read(client: FhirClient, url: str) -> Json:
    response = client.get(f"/fhir/{url}")
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def post(client: FhirClient, url: str, body: Json, status: int = 200) -> Json:
    response = client.post(f"/fhir/{url}", json=body, headers=FHIR_JSON)
    assert response.status_code == status, response.text
    answer: Json = response.json()
    return answer


def managed(patient: Json, kind: str = "seealso") -> set[str]:
    return {
        link["other"]["reference"]
        for link in patient.get("link") or []
        if link["type"] == kind and any(e["url"] == MANAGED_URL for e in link.get("extension", []))
    }


def search(client: FhirClient, query: str) -> list[Json]:
    return [e["resource"] for e in read(client, query).get("entry", [])]


def parameters(**values: Json) -> Json:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": k, **v} for k, v in values.items()],
    }


def test_a_duplicate_is_auto_linked_with_a_golden_person(fhir: FhirClient) -> None:
    first = create(fhir, person(identifier=cccd("001185123456")))
    # No CCCD, no diacritics, day and month swapped: the model links it.
    second = create(fhir, person("NGUYEN THI DAO", birthDate="1985-04-03"))
    assert managed(second) == {f"Patient/{first['id']}"}
    assert managed(read(fhir, f"Patient/{first['id']}")) == {f"Patient/{second['id']}"}
    golden = search(fhir, f"Person?link=Patient/{second['id']}")
    assert len(golden) == 1
    assert golden[0]["meta"]["tag"][0]["code"] == GOLDEN_TAG["code"]
    assert {link["target"]["reference"] for link in golden[0]["link"]} == {
        f"Patient/{first['id']}",
        f"Patient/{second['id']}",
    }
    assert golden[0]["identifier"] == cccd("001185123456")  # from the record with the CCCD
    # All records of the person: the standard Patient.link search.
    linked = search(fhir, f"Patient?link=Patient/{first['id']}")
    assert [p["id"] for p in linked] == [second["id"]]
    everything = search(fhir, f"Person?link=Patient/{first['id']}&_include=Person:link")
    assert sorted(f"{r['resourceType']}/{r['id']}" for r in everything) == sorted(
        [f"Person/{golden[0]['id']}", f"Patient/{first['id']}", f"Patient/{second['id']}"]
    )
    # The auto-link is recorded as a decided pair Task.
    task = read(fhir, f"Task/{pair_task_id(first['id'], second['id'])}")
    assert task["status"] == "completed"
    assert task["businessStatus"]["coding"][0]["code"] == "link"


def test_a_different_person_stays_unique(fhir: FhirClient) -> None:
    create(fhir, person())
    other = create(
        fhir,
        person(
            "Trần Văn Minh",
            gender="male",
            birthDate="1970-11-20",
            telecom=[{"system": "phone", "value": "0987654321"}],
        ),
    )
    assert "link" not in other
    assert search(fhir, "Person") == []


def test_different_cccds_are_never_linked(fhir: FhirClient) -> None:
    create(fhir, person(identifier=cccd("001185123456")))
    twin = create(fhir, person(identifier=cccd("001185654321")))
    assert "link" not in twin
    assert search(fhir, "Person") == []


def test_match_operation_returns_scores_and_grades(fhir: FhirClient) -> None:
    first = create(fhir, person(identifier=cccd("001185123456")))
    create(fhir, person("Trần Văn Minh", gender="male", birthDate="1970-11-20"))
    query = person("Nguyen Thi Dao")
    bundle = post(fhir, "Patient/$match", parameters(resource={"resource": query}))
    assert bundle["type"] == "searchset"
    assert [e["resource"]["id"] for e in bundle["entry"]] == [first["id"]]
    search_part = bundle["entry"][0]["search"]
    assert search_part["mode"] == "match" and 0.99 <= search_part["score"] <= 1
    assert search_part["extension"][0]["valueCode"] == "probable"
    certain = post(
        fhir,
        "Patient/$match",
        parameters(
            resource={"resource": person(identifier=cccd("001185123456"))},
            onlyCertainMatches={"valueBoolean": True},
        ),
    )
    assert [e["search"]["extension"][0]["valueCode"] for e in certain["entry"]] == ["certain"]
    bad = fhir.post("/fhir/Patient/$match", json={"resourceType": "Parameters"}, headers=FHIR_JSON)
    assert bad.status_code == 400 and "resource" in bad.text
    statement = read(fhir, "metadata")
    patient_ops = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    names = {op["name"] for op in patient_ops["operation"]}
    assert {"match", "merge", "mpi-unmerge", "mpi-review", "mpi-decide"} <= names


def test_review_queue_decisions_stick_and_reverse(fhir: FhirClient) -> None:
    first = create(fhir, person())
    # Same name, ward and phone, but only the birth year agrees: possible, not probable.
    second = create(fhir, person(birthDate="1985-06-09"))
    queue = read(fhir, "Patient/$mpi-review")
    assert queue["total"] == 1, queue
    task = queue["entry"][0]["resource"]
    assert task["status"] == "requested"
    evidence = {i["type"]["text"]: i["valueString"] for i in task["input"] if "valueString" in i}
    assert set(evidence) == {"name", "birth_date", "sex", "ward", "phone", "social_insurance"}
    assert evidence["birth_date"].startswith("same year")
    assert evidence["name"].startswith("exact")
    assert "link" not in second

    decided = post(
        fhir,
        "Patient/$mpi-decide",
        parameters(
            task={"valueReference": {"reference": f"Task/{task['id']}"}},
            decision={"valueCode": "not-a-match"},
            comment={"valueString": "twins"},
        ),
    )
    assert decided["status"] == "completed" and decided["note"][0]["text"] == "twins"
    assert read(fhir, "Patient/$mpi-review")["total"] == 0
    # A later update of the same record does not queue or link it again.
    again = {**read(fhir, f"Patient/{second['id']}"), "gender": "female"}
    response = fhir.put(f"/fhir/Patient/{second['id']}", json=again, headers=FHIR_JSON)
    assert response.status_code == 200 and "link" not in response.json()
    assert read(fhir, "Patient/$mpi-review")["total"] == 0

    # Reversed: the steward links them after all.
    post(
        fhir,
        "Patient/$mpi-decide",
        parameters(
            patient={"valueReference": {"reference": f"Patient/{first['id']}"}},
            other={"valueReference": {"reference": f"Patient/{second['id']}"}},
            decision={"valueCode": "link"},
        ),
    )
    assert managed(read(fhir, f"Patient/{first['id']}")) == {f"Patient/{second['id']}"}
    history = read(fhir, f"Task/{task['id']}/_history")
    assert len(history["entry"]) == 3  # queued, not-a-match, link


def test_merge_preview_merge_and_undo(fhir: FhirClient) -> None:
    source = create(
        fhir,
        person(
            "Lê Văn An",
            gender="male",
            birthDate="1960-01-01",
            telecom=[{"system": "phone", "value": "0911111111"}],
            meta={"tag": [{"system": "http://example.org/tags", "code": "vip"}]},
        ),
    )
    target = create(
        fhir,
        person(
            "Lê Văn Ân",
            gender="male",
            birthDate="1960-01-02",
            telecom=[{"system": "phone", "value": "0922222222"}],
            identifier=cccd("001060123456"),
        ),
    )
    request = parameters(
        **{
            "source-patient": {"valueReference": {"reference": f"Patient/{source['id']}"}},
            "target-patient": {"valueReference": {"reference": f"Patient/{target['id']}"}},
            "preview": {"valueBoolean": True},
        }
    )
    preview = post(fhir, "Patient/$merge", request)
    result = next(p["resource"] for p in preview["parameter"] if p["name"] == "result")
    assert managed(result, "replaces") == {f"Patient/{source['id']}"}
    assert read(fhir, f"Patient/{source['id']}")["meta"]["versionId"] == "1"  # nothing written

    request["parameter"] = request["parameter"][:2]
    done = post(fhir, "Patient/$merge", request)
    assert {p["name"] for p in done["parameter"]} == {"input", "outcome", "result", "task"}
    merged = read(fhir, f"Patient/{source['id']}")
    assert merged["active"] is False
    assert merged["meta"]["tag"] == [{"system": "http://example.org/tags", "code": "vip"}]
    assert managed(merged, "replaced-by") == {f"Patient/{target['id']}"}
    assert managed(read(fhir, f"Patient/{target['id']}"), "replaces") == {f"Patient/{source['id']}"}
    # A merged-away record is no longer a candidate; its survivor is.
    bundle = post(fhir, "Patient/$match", parameters(resource={"resource": copy.deepcopy(source)}))
    assert source["id"] not in [e["resource"]["id"] for e in bundle["entry"]]
    again = fhir.post("/fhir/Patient/$merge", json=request, headers=FHIR_JSON)
    assert again.status_code == 422 and "already merged" in again.text

    undo = post(
        fhir,
        "Patient/$mpi-unmerge",
        parameters(
            **{
                "source-patient": {"valueReference": {"reference": f"Patient/{source['id']}"}},
                "target-patient": {"valueReference": {"reference": f"Patient/{target['id']}"}},
            }
        ),
    )
    restored = read(fhir, f"Patient/{source['id']}")
    assert "active" not in restored and managed(restored, "replaced-by") == set()
    assert managed(read(fhir, f"Patient/{target['id']}"), "replaces") == set()
    task = next(p["resource"] for p in undo["parameter"] if p["name"] == "task")
    assert task["status"] == "cancelled"
    assert len(read(fhir, f"Patient/{source['id']}/_history")["entry"]) >= 3  # none deleted


def test_transaction_entries_are_matched(fhir: FhirClient) -> None:
    first = create(fhir, person(identifier=cccd("001185123456")))
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:6a0d4a52-7d2b-4e0a-9a51-3f1f5e1c0001",
                "resource": person("Dao Thi Nguyen", birthDate="1985-04-03"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "weight"},
                    "subject": {"reference": "urn:uuid:6a0d4a52-7d2b-4e0a-9a51-3f1f5e1c0001"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    answer = post(fhir, "", bundle)
    location = answer["entry"][0]["response"]["location"]
    new_id = location.split("Patient/")[1].split("/")[0]
    assert managed(read(fhir, f"Patient/{new_id}")) == {f"Patient/{first['id']}"}


def test_every_process_sees_the_same_match_records(store_url: str, tmp_path: Any) -> None:
    """Two servers on one database (two stores, nothing shared in memory): a Patient written
    through one is matched by the other."""
    stores = [open_store(store_url), open_store(store_url)]
    try:
        registries = [install_mpi(s, tmp_path / "none.json") for s in stores]
        apps = [
            create_fhir_app(s, access=OPEN_ACCESS_FOR_TESTS, operations=mpi_operations(r))
            for s, r in zip(stores, registries, strict=True)
        ]
        with FhirClient(apps[0]) as one, FhirClient(apps[1]) as two:
            first = create(one, person())
            second = create(two, person("NGUYEN THI DAO"))
            assert managed(second) == {f"Patient/{first['id']}"}
            # A deleted Patient leaves the index, its person and the other record's links.
            assert one.delete(f"/fhir/Patient/{second['id']}").status_code in (200, 204)
            assert managed(read(two, f"Patient/{first['id']}")) == set()
            persons = search(two, f"Person?link=Patient/{first['id']}")
            assert [p["active"] for p in persons] == [False]  # retired: one record left
            bundle = post(two, "Patient/$match", parameters(resource={"resource": person()}))
            assert [e["resource"]["id"] for e in bundle["entry"]] == [first["id"]]
    finally:
        for store in stores:
            store.close()


def test_bad_operation_input_is_an_operation_outcome(fhir: FhirClient) -> None:
    patient = create(fhir, person())
    cases = [
        (
            "Patient/$merge",
            parameters(**{"source-patient": {"valueString": patient["id"]}}),
            400,
            "target-patient is required",
        ),
        (
            "Patient/$merge",
            parameters(
                **{
                    "source-patient": {"valueReference": {"reference": f"Patient/{patient['id']}"}},
                    "target-patient": {"valueReference": {"reference": "Patient/nobody"}},
                }
            ),
            422,
            "target-patient: Patient/nobody is not known",
        ),
        (
            "Patient/$mpi-decide",
            parameters(
                patient={"valueReference": {"reference": f"Patient/{patient['id']}"}},
                other={"valueReference": {"reference": "Patient/nobody"}},
                decision={"valueCode": "link"},
            ),
            404,
            "Patient/nobody",
        ),
        ("Patient/$mpi-decide", parameters(decision={"valueCode": "maybe"}), 400, "decision"),
        (
            "Patient/$mpi-unmerge",
            parameters(
                **{
                    "source-patient": {"valueReference": {"reference": f"Patient/{patient['id']}"}},
                    "target-patient": {"valueReference": {"reference": f"Patient/{patient['id']}"}},
                }
            ),
            422,
            "no merge",
        ),
    ]
    before = read(fhir, f"Patient/{patient['id']}")["meta"]["versionId"]
    for url, body, status, text in cases:
        response = fhir.post(f"/fhir/{url}", json=body, headers=FHIR_JSON)
        assert response.status_code == status, (url, response.text)
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert text in response.text
    assert read(fhir, f"Patient/{patient['id']}")["meta"]["versionId"] == before


def test_two_writers_of_one_person_at_once_are_linked(store_url: str, tmp_path: Any) -> None:
    """Concurrent transactions: the candidate lookup locks its blocking keys, so the second
    writer waits for the first and links to it (PostgreSQL advisory locks; SQLite's write lock)."""
    stores = [open_store(store_url), open_store(store_url)]
    try:
        for store in stores:
            install_mpi(store, tmp_path / "none.json")
        barrier = threading.Barrier(2)
        created: list[str] = []

        def write(store: Any, patient: Json) -> None:
            barrier.wait()
            with store.session() as session:
                created.append(session.create(patient).stored.id)

        threads = [
            threading.Thread(target=write, args=(stores[0], person())),
            threading.Thread(target=write, args=(stores[1], person("NGUYEN THI DAO"))),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(created) == 2
        linked = {
            ref["reference"]
            for id in created
            for link in stores[0].read("Patient", id).resource().get("link", [])
            for ref in [link["other"]]
        }
        assert linked == {f"Patient/{id}" for id in created}
    finally:
        for store in stores:
            store.close()


def test_a_queued_pair_is_linked_when_an_update_makes_it_probable(fhir: FhirClient) -> None:
    first = create(fhir, person())
    second = create(fhir, person(birthDate="1985-06-09"))
    task_id = pair_task_id(first["id"], second["id"])
    assert read(fhir, f"Task/{task_id}")["status"] == "requested"
    fixed = {**second, "birthDate": "1985-03-04"}
    response = fhir.put(f"/fhir/Patient/{second['id']}", json=fixed, headers=FHIR_JSON)
    assert response.status_code == 200
    assert managed(response.json()) == {f"Patient/{first['id']}"}
    task = read(fhir, f"Task/{task_id}")
    assert task["status"] == "completed" and task["owner"]["display"].startswith("yteso-mpi")
    assert read(fhir, "Patient/$mpi-review")["total"] == 0


def test_a_steward_undoes_an_auto_link(fhir: FhirClient) -> None:
    first = create(fhir, person(identifier=cccd("001185123456")))
    second = create(fhir, person("NGUYEN THI DAO", birthDate="1985-04-03"))
    assert managed(second) == {f"Patient/{first['id']}"}
    task_id = pair_task_id(first["id"], second["id"])
    assert read(fhir, f"Task/{task_id}")["owner"]["display"].startswith("yteso-mpi")
    [golden] = search(fhir, f"Person?link=Patient/{first['id']}")
    assert golden.get("active") is not False

    decided = post(
        fhir,
        "Patient/$mpi-decide",
        parameters(
            task={"valueReference": {"reference": f"Task/{task_id}"}},
            decision={"valueCode": "not-a-match"},
            comment={"valueString": "mother and daughter"},
        ),
    )
    assert decided["businessStatus"]["coding"][0]["code"] == "not-a-match"
    assert managed(read(fhir, f"Patient/{first['id']}")) == set()
    assert managed(read(fhir, f"Patient/{second['id']}")) == set()
    retired = read(fhir, f"Person/{golden['id']}")
    assert retired["active"] is False
    assert search(fhir, f"Patient?link=Patient/{first['id']}") == []
    # Reversible and audited: every earlier version is kept, the Task tells both decisions.
    assert len(read(fhir, f"Patient/{second['id']}/_history")["entry"]) == 2
    owners = [
        e["resource"]["owner"]["display"] for e in read(fhir, f"Task/{task_id}/_history")["entry"]
    ]
    assert len(owners) == 2 and any(o.startswith("yteso-mpi") for o in owners)
    # The decision sticks: a later update of either record does not link them again.
    again = {**read(fhir, f"Patient/{second['id']}"), "gender": "female"}
    response = fhir.put(f"/fhir/Patient/{second['id']}", json=again, headers=FHIR_JSON)
    assert response.status_code == 200 and managed(response.json()) == set()


def test_a_malformed_cccd_is_rejected_and_nothing_is_stored(fhir: FhirClient) -> None:
    facility = {"system": "urn:oid:1.2.704.1", "value": "BN-0001"}
    short = person(identifier=[facility, *cccd("001185123")])
    response = fhir.post("/fhir/Patient", json=short, headers=FHIR_JSON)
    assert response.status_code == 400
    errors = [i for i in response.json()["issue"] if i["severity"] == "error"]
    assert [(i["code"], i["expression"]) for i in errors] == [
        ("value", ["Patient.identifier[1].value"])
    ]
    assert "12 digits" in errors[0]["diagnostics"]
    assert read(fhir, "Patient?_summary=count")["total"] == 0

    # An update that breaks the CCCD is refused too: the stored version stays.
    stored = create(fhir, person(identifier=cccd("001185123456")))
    wrong_sex = {**stored, "identifier": cccd("001085123456")}  # 0 = a man born in the 1900s
    response = fhir.put(f"/fhir/Patient/{stored['id']}", json=wrong_sex, headers=FHIR_JSON)
    assert response.status_code == 400 and "sex digit" in response.text
    assert read(fhir, f"Patient/{stored['id']}")["meta"]["versionId"] == "1"

    # In a transaction, the bad entry fails the whole Bundle: the good entry is not stored.
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": person("Trần Văn Minh", gender="male"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": person(identifier=cccd("99918512345x")),
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    response = fhir.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 400
    expressions = [i["expression"] for i in response.json()["issue"] if i["severity"] == "error"]
    assert ["Patient.identifier[0].value"] in expressions and ["Bundle.entry[1]"] in expressions
    assert [p["id"] for p in search(fhir, "Patient")] == [stored["id"]]
    assert search(fhir, "Person") == [] and search(fhir, "Task") == []
