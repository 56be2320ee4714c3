"""Bulk Data ``$export`` through the real auth path (signed tokens), on both databases."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.fhir_client import FhirClient
from tests.api.secured_app import secured_client
from yteso.api.operations.export_jobs import ExportJobs, ExportRequest
from yteso.app import create_app
from yteso.auth import SecurityServices
from yteso.store import open_store
from yteso.store.base import StoredVersion
from yteso.store.ndjson_export import ExportPlan

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}
LAB = "http://terminology.hl7.org/CodeSystem/observation-category"


def observation(id: str, patient: str, category: str) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [{"coding": [{"system": LAB, "code": category}]}],
        "code": {"text": id},
        "subject": {"reference": f"Patient/{patient}"},
    }


SEED: list[dict[str, object]] = [
    {"resourceType": "Patient", "id": "alice"},
    {"resourceType": "Patient", "id": "bob"},
    {"resourceType": "Organization", "id": "clinic", "name": "Tram y te"},
    observation("alice-bp", "alice", "vital-signs"),
    observation("alice-lab", "alice", "laboratory"),
    observation("bob-bp", "bob", "vital-signs"),
    {
        "resourceType": "Group",
        "id": "g1",
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": "Patient/bob"}}],
    },
]


class Exporter:
    def __init__(self, client: FhirClient, security: SecurityServices) -> None:
        self.client = client
        self.security = security

    def token(self, scope: str, subject: str = "ops", patient: str | None = None) -> str:
        return self.security.tokens.issue(subject, scope, patient=patient)

    def get(self, url: str, token: str, headers: dict[str, str] | None = None) -> httpx.Response:
        auth = {"Authorization": f"Bearer {token}", **(headers or {})}
        return self.client.get(url, headers=auth)

    def run(self, url: str, token: str) -> dict[str, list[str]]:
        """Kick off, poll to completion, download: ``{type: [ids]}``."""
        kick = self.client.get(url, headers={"Authorization": f"Bearer {token}", **ASYNC})
        assert kick.status_code == 202, kick.text
        status_url = kick.headers["Content-Location"]
        manifest = self.poll(status_url, token)
        files: dict[str, list[str]] = {}
        for output in manifest["output"]:
            response = self.client.get(output["url"], headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/fhir+ndjson")
            lines = [json.loads(line) for line in response.text.splitlines()]
            assert len(lines) == output["count"]
            files[output["type"]] = sorted(r["id"] for r in lines)
        return files

    def poll(self, status_url: str, token: str) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(500):
            response = self.client.get(status_url, headers=auth)
            if response.status_code == 200:
                manifest: dict[str, Any] = response.json()
                return manifest
            assert response.status_code == 202, response.text
            assert "X-Progress" in response.headers
            time.sleep(0.01)
        raise AssertionError("export did not finish")


@pytest.fixture
def exporter(store_url: str, tmp_path: Path) -> Iterator[Exporter]:
    exports = tmp_path / "exports"
    with secured_client(store_url, SEED, tmp_path / "auth", exports_dir=exports) as secured:
        yield Exporter(*secured)


ALL = {
    "Group": ["g1"],
    "Observation": ["alice-bp", "alice-lab", "bob-bp"],
    "Organization": ["clinic"],
    "Patient": ["alice", "bob"],
}
ANY = "system/*.rs"
VITALS = f"system/Patient.rs system/Observation.rs?category={LAB}|vital-signs"
IN_COMPARTMENTS = {"Observation": ALL["Observation"], "Patient": ALL["Patient"]}
PATIENTS = ALL["Patient"]
LAB_AND_BOB = ["alice-lab", "bob-bp"]
BOTH = LAB_AND_BOB
BOB_FILTER = "_typeFilter=Observation%3Fsubject%3DPatient/bob"
LAB_FILTER = "_typeFilter=Observation%3Fcategory%3Dlaboratory"
ID_FILTERS = "_typeFilter=Observation%3F_id%3Dalice-lab&_typeFilter=Observation%3F_id%3Dbob-bp"
CASES = [
    ("/fhir/$export", ANY, ALL),
    ("/fhir/$export?_type=Patient,Group", ANY, {"Group": ["g1"], "Patient": ALL["Patient"]}),
    # filters run through the store's search; several filters on one type are ORed
    (f"/fhir/$export?{LAB_FILTER}", ANY, {**ALL, "Observation": ["alice-lab"]}),
    (f"/fhir/$export?{BOB_FILTER}&{LAB_FILTER}&_type=Observation", ANY, {"Observation": BOTH}),
    (f"/fhir/$export?_type=Observation&{ID_FILTERS}", ANY, {"Observation": LAB_AND_BOB}),
    ("/fhir/$export?_typeFilter=Patient%3F_id%3Dbob", ANY, {**ALL, "Patient": ["bob"]}),
    ("/fhir/$export?_type=Patient&_typeFilter=Patient%3F_lastUpdated%3Dgt2999-01-01", ANY, {}),
    ("/fhir/$export?_since=2999-01-01T00:00:00Z", ANY, {}),
    ("/fhir/$export?_since=2000-01-01T00:00:00Z&_type=Group", ANY, {"Group": ["g1"]}),
    ("/fhir/$export?_outputFormat=application/fhir%2Bndjson", ANY, ALL),
    ("/fhir/$export?_outputFormat=ndjson", ANY, ALL),
    ("/fhir/Patient/$export", ANY, IN_COMPARTMENTS),
    ("/fhir/Group/g1/$export", ANY, {"Observation": ["bob-bp"], "Patient": ["bob"]}),
    # a scope's filter screens each resource as a search would; unreadable types are left out
    ("/fhir/Patient/$export", VITALS, {"Observation": ["alice-bp", "bob-bp"], "Patient": PATIENTS}),
    ("/fhir/Patient/$export?_type=Patient,Observation", "system/Patient.rs", {"Patient": PATIENTS}),
]  # fmt: skip


@pytest.mark.parametrize(("url", "scope", "expected"), CASES)
def test_export_outputs(exporter: Exporter, url: str, scope: str, expected: object) -> None:
    assert exporter.run(url, exporter.token(scope)) == expected


REFUSED = [
    ("/fhir/$export", ASYNC, "system/*.rs", None, 401),  # no token
    ("/fhir/$export", {}, "system/*.rs", "t", 400),  # no Prefer: respond-async
    ("/fhir/$export?_outputFormat=text/csv", ASYNC, "system/*.rs", "t", 400),
    ("/fhir/$export?_type=Nonsense", ASYNC, "system/*.rs", "t", 400),
    ("/fhir/$export?_since=yesterday", ASYNC, "system/*.rs", "t", 400),
    ("/fhir/$export?_typeFilter=Observation%3Fnot-a-param%3D1", ASYNC, "system/*.rs", "t", 400),
    ("/fhir/$export?_typeFilter=garbage", ASYNC, "system/*.rs", "t", 400),
    ("/fhir/$export?_type=Patient&_typeFilter=Group%3F_id%3Dg1", ASYNC, "system/*.rs", "t", 400),
    ("/fhir/$export", ASYNC, "system/Patient.rs", "t", 403),  # system level needs a '*' scope
    ("/fhir/Group/nope/$export", ASYNC, "system/*.rs", "t", 404),
    ("/fhir/Group/$export", ASYNC, "system/*.rs", "t", 404),
]


@pytest.mark.parametrize(("url", "headers", "scope", "token", "status"), REFUSED)
def test_export_refusals(
    exporter: Exporter,
    url: str,
    headers: dict[str, str],
    scope: str,
    token: str | None,
    status: int,
) -> None:
    auth = {"Authorization": f"Bearer {exporter.token(scope)}"} if token else {}
    response = exporter.client.get(url, headers={**auth, **headers})
    assert response.status_code == status, response.text


def test_manifest_and_owner_only(exporter: Exporter) -> None:
    owner = exporter.token("system/*.rs", subject="ops")
    other = exporter.token("system/*.rs", subject="someone-else")
    kick = exporter.get("/fhir/$export?_type=Patient", owner, ASYNC)
    status_url = kick.headers["Content-Location"]
    manifest = exporter.poll(status_url, owner)
    assert manifest["requiresAccessToken"] is True
    assert str(manifest["request"]).endswith("/fhir/$export?_type=Patient")
    assert str(manifest["transactionTime"]).endswith("Z")
    assert manifest["error"] == []
    file_url = manifest["output"][0]["url"]
    assert exporter.get(status_url, other).status_code == 404
    assert exporter.get(file_url, other).status_code == 404
    assert exporter.get(file_url, owner).status_code == 200


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("application/fhir+ndjson", 200),  # the spec's default for a file request
        ("application/ndjson", 200),
        ("*/*", 200),
        ("application/fhir+ndjson; q=0.9, application/fhir+json", 200),
        ("text/csv", 406),
    ],
)
def test_file_download_negotiates_ndjson(exporter: Exporter, accept: str, status: int) -> None:
    token = exporter.token("system/*.rs")
    kick = exporter.get("/fhir/$export?_type=Patient", token, ASYNC)
    file_url = exporter.poll(kick.headers["Content-Location"], token)["output"][0]["url"]
    response = exporter.get(file_url, token, {"Accept": accept})
    assert response.status_code == status, response.text
    if status == 200:
        assert response.headers["content-type"].startswith("application/fhir+ndjson")
        assert sorted(json.loads(line)["id"] for line in response.text.splitlines()) == PATIENTS


UNSUPPORTED = [
    ("_elements=id", "_elements"),
    ("includeAssociatedData=LatestProvenanceResources", "includeAssociatedData"),
    ("patient=Patient/alice", "patient"),
    ("bogus=1", "bogus"),
]


@pytest.mark.parametrize(("query", "name"), UNSUPPORTED)
def test_unsupported_parameters_are_refused(
    exporter: Exporter, query: str, name: str, tmp_path: Path
) -> None:
    """Bulk Data 2.0: an unsupported kick-off parameter is a 400 unless handling=lenient."""
    token = exporter.token("system/*.rs")
    response = exporter.get(f"/fhir/$export?_type=Patient&{query}", token, ASYNC)
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == [name] and name in issue["diagnostics"]
    assert not (tmp_path / "exports").exists() or not any((tmp_path / "exports").iterdir())


def test_lenient_export_ignores_them_and_says_so(exporter: Exporter) -> None:
    token = exporter.token("system/*.rs")
    query = "&".join(q for q, _ in UNSUPPORTED)
    lenient = {**ASYNC, "Prefer": "respond-async, handling=lenient"}
    kick = exporter.get(f"/fhir/$export?_type=Patient&{query}", token, lenient)
    assert kick.status_code == 202, kick.text
    manifest = exporter.poll(kick.headers["Content-Location"], token)
    assert [(o["type"], o["count"]) for o in manifest["output"]] == [("Patient", 2)]
    [error] = manifest["error"]
    assert error["type"] == "OperationOutcome"
    outcome = json.loads(exporter.get(error["url"], token).text)
    assert outcome["resourceType"] == "OperationOutcome"
    assert {i["expression"][0] for i in outcome["issue"]} == {n for _, n in UNSUPPORTED}
    assert {i["severity"] for i in outcome["issue"]} == {"warning"}


def test_delete_removes_the_job_and_its_files(exporter: Exporter, tmp_path: Path) -> None:
    token = exporter.token("system/*.rs")
    kick = exporter.get("/fhir/$export", token, ASYNC)
    status_url = kick.headers["Content-Location"]
    exporter.poll(status_url, token)
    assert any((tmp_path / "exports").iterdir())
    auth = {"Authorization": f"Bearer {token}"}
    assert exporter.client.delete(status_url, headers=auth).status_code == 202
    assert exporter.get(status_url, token).status_code == 404
    assert not any((tmp_path / "exports").iterdir())


def test_capability_statement_lists_export(exporter: Exporter) -> None:
    statement = exporter.client.get("/fhir/metadata").json()
    names = {o["name"] for r in statement["rest"] for o in r.get("operation", [])}
    assert {"export", "export-poll-status"} <= names


def test_a_restarted_server_still_answers(exporter: Exporter, tmp_path: Path) -> None:
    token = exporter.token("system/*.rs")
    kick = exporter.get("/fhir/$export?_type=Patient", token, ASYNC)
    status_url = kick.headers["Content-Location"]
    finished = exporter.poll(status_url, token)
    job_file = next((tmp_path / "exports").glob("*/job.json"))
    running = {**json.loads(job_file.read_bytes()), "status": "in-progress"}
    stale = tmp_path / "exports" / ("0" * 32)
    stale.mkdir()
    (stale / "job.json").write_text(json.dumps(running))
    store = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    app = create_app(store, security=exporter.security, exports_dir=tmp_path / "exports")
    try:
        with FhirClient(app) as client:
            again = Exporter(client, exporter.security)
            assert again.poll(status_url, token) == finished
            interrupted = again.get(status_url.split("?")[0] + "?_job=" + "0" * 32, token)
            assert interrupted.status_code == 500
            assert "restart" in interrupted.text
    finally:
        store.close()


def test_cancel_while_running_removes_the_job(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    store.bulk_write([dict(r) for r in SEED])
    release = threading.Event()

    def held(stored: StoredVersion) -> bool:  # keeps the job running until released
        return release.wait(10)

    jobs = ExportJobs(tmp_path / "exports")
    try:
        job = jobs.start(store, ExportRequest("ops", "url", ExportPlan(), accept=held))
        state = jobs.state(job)
        assert state is not None and state["status"] == "in-progress"
        assert jobs.cancel(job)
        assert jobs.state(job) is None
        release.set()
        jobs.wait(job)
        assert not (tmp_path / "exports" / job).exists()
    finally:
        release.set()
        store.close()
