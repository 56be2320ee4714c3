"""Bulk load of NDJSON, Bundles and folders: invalid rows reported, the rest stored."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from yteso.store import SearchParam, SearchQuery, SqlStore, bulk_load, load_paths, open_store


def patient(i: int) -> dict[str, object]:
    return {"resourceType": "Patient", "id": f"p{i}", "gender": "female", "birthDate": "1980-05-06"}


def observation(i: int) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": f"o{i}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/p{i}"},
        "valueQuantity": {"value": 72, "unit": "/min"},
    }


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def write_ndjson(path: Path, rows: list[object]) -> Path:
    path.write_bytes(
        b"".join(orjson.dumps(r) + b"\n" if not isinstance(r, bytes) else r + b"\n" for r in rows)
    )
    return path


def test_ndjson_reports_bad_lines_and_loads_the_rest(store: SqlStore, tmp_path: Path) -> None:
    rows: list[object] = [
        patient(1),
        b"{not json",
        patient(2),
        b"",
        {"resourceType": "Patient", "gender": 5},
        b"[1, 2]",
    ]
    path = write_ndjson(tmp_path / "patients.ndjson", rows)
    calls: list[tuple[int, int | None]] = []
    report = load_paths(store, [path], progress=lambda done, total: calls.append((done, total)))
    assert report.loaded == 2 and report.failed == 3
    lines = [(f.file, f.line) for f in report.failures]
    assert lines == [(str(path), 2), (str(path), 5), (str(path), 6)]
    assert "not valid JSON" in str(report.failures[0])
    assert "gender" in str(report.failures[1])
    assert "must be a JSON object" in str(report.failures[2])
    assert store.counts() == {"Patient": 2}
    assert calls[-1] == (5, 5)
    assert report.by_type == {"Patient": 2} and "Loaded 2" in report.summary()


def test_transaction_bundle_honours_requests(store: SqlStore, tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
                "resource": {"resourceType": "Patient", "gender": "male"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    **observation(1),
                    "id": "whatever",
                    "subject": {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
                },
                "request": {"method": "PUT", "url": "Observation/o-put"},
            },
            {"request": {"method": "DELETE", "url": "Patient/p1"}},
            {"resource": patient(5), "request": {"method": "PUT", "url": "Patient?identifier=x"}},
            {
                "resource": patient(6),
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=x"},
            },
            {"resource": patient(7), "request": {"method": "PUT", "url": "Observation/o7"}},
            {
                "resource": patient(8),
                "request": {"method": "PUT", "url": "https://x.vn/fhir/Patient/p8"},
            },
        ],
    }
    path = tmp_path / "tx.json"
    path.write_bytes(orjson.dumps(bundle))
    report = load_paths(store, [path])
    assert report.loaded == 3
    assert [(f.line, f.entry) for f in report.failures] == [
        (None, 2),
        (None, 3),
        (None, 4),
        (None, 5),
    ]
    assert store.read("Patient", "p8").resource()["gender"] == "female"
    reference = store.read("Observation", "o-put").resource()["subject"]["reference"]
    patient_id = reference.removeprefix("Patient/")
    assert store.read("Patient", patient_id).resource()["gender"] == "male"


def test_folders_collections_and_reloads(store: SqlStore, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    (folder / "nested").mkdir(parents=True)
    write_ndjson(folder / "Patient.ndjson", [patient(i) for i in range(5)])
    write_ndjson(folder / "nested" / "Observation.ndjson", [observation(i) for i in range(5)])
    collection = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient(9)}],
    }
    (folder / "collection.json").write_bytes(orjson.dumps(collection))
    (folder / "notes.txt").write_text("ignored")
    first = load_paths(store, [folder])
    again = load_paths(store, [folder], batch_size=3)
    assert (first.loaded, again.loaded, first.failed) == (11, 11, 0)
    assert store.counts() == {"Patient": 6, "Observation": 5}
    assert store.read("Patient", "p0").version == 2
    assert store.read("Observation", "o0").resource()["meta"]["versionId"] == "2"


def test_worker_processes_give_the_same_result(store: SqlStore, tmp_path: Path) -> None:
    rows: list[object] = [patient(i) for i in range(2500)] + [{"resourceType": "Nope"}]
    rows[7] = {**patient(7), "gender": "male", "name": [{"family": "Nguyễn"}]}
    path = write_ndjson(tmp_path / "many.ndjson", rows)
    thresholds = gc.get_threshold()
    report = load_paths(store, [path], workers=2, batch_size=1000)
    assert gc.get_threshold() == thresholds  # the loader's collector settings are undone
    assert (report.loaded, report.failed) == (2500, 1)
    assert report.failures[0].line == 2501
    assert store.counts() == {"Patient": 2500}
    assert store.read("Patient", "p2499").resource()["birthDate"] == "1980-05-06"
    # index rows made in the workers reach the index tables: token and (folded) string
    for name, value in (("gender", "male"), ("family", "nguyen")):
        query = SearchQuery(params=(SearchParam(name, (value,)),))
        assert [m.id for m in store.search("Patient", query).matches] == ["p7"]


def test_worker_stream_keeps_input_order_and_ends_its_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More chunks than the workers hold in flight come back in input order, and a stream
    left early (the writer failed) ends its worker processes."""
    monkeypatch.setattr(bulk_load, "CHUNK_BYTES", 2048)
    path = write_ndjson(tmp_path / "many.ndjson", [patient(i) for i in range(600)])
    tasks = list(bulk_load._tasks([path]))
    assert len(tasks) > 2 * bulk_load.IN_FLIGHT_PER_WORKER
    items = list(bulk_load._prepared_stream(iter(tasks), 2))
    ids = [fields[1] for item in items if item is not None for fields in item[0]]
    assert ids == [f"p{i}" for i in range(600)]
    assert (
        None not in items[: len(tasks) - 2 * bulk_load.IN_FLIGHT_PER_WORKER]
    )  # not before the tail
    stream = bulk_load._prepared_stream(iter(tasks), 2)
    assert next(stream)[0][0][1] == "p0"
    stream.close()
    assert multiprocessing.active_children() == []


def test_the_writer_writes_what_it_holds_while_the_last_chunks_are_prepared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``None`` from the stream (every task out, the next chunk not ready): the batch held so
    far is written at once instead of with the last chunk."""
    monkeypatch.setattr(bulk_load, "CHUNK_BYTES", 2048)
    path = write_ndjson(tmp_path / "many.ndjson", [patient(i) for i in range(60)])
    chunks = [bulk_load.prepare_task(task) for task in bulk_load._tasks([path])]
    assert len(chunks) >= 3
    stream = [chunks[0], chunks[1], None, None, *chunks[2:]]
    monkeypatch.setattr(bulk_load, "_prepared_stream", lambda *_: iter(stream))
    written: list[list[str]] = []

    def write(batch: list[bulk_load.PreparedResource], blocks: object) -> int:
        written.append([item.id for item in batch])
        return len(batch)

    report = bulk_load._load(write, "rows", [path], None, None, 2, 10_000)
    held = len(chunks[0][0]) + len(chunks[1][0])
    assert [len(ids) for ids in written] == [held, 60 - held]
    assert [i for ids in written for i in ids] == [f"p{i}" for i in range(60)]
    assert report.loaded == 60
