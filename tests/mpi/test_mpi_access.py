"""Who may use the MPI operations (real tokens, both databases), and their audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.fhir_client import FhirClient
from tests.api.secured_app import secured_client
from tests.mpi.test_mpi_api import parameters, person
from yteso.auth import SecurityServices


@pytest.fixture
def secured(store_url: str, tmp_path: Path) -> Iterator[tuple[FhirClient, SecurityServices]]:
    seed = [
        {**person(), "id": "dao"},
        {**person("Nguyen Thi Dao", birthDate="1985-04-03"), "id": "dao2"},
    ]
    with secured_client(store_url, seed, tmp_path / "auth") as secured:
        yield secured


def call(client: FhirClient, token: str, method: str, url: str, body: Any = None) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    return client.request(method, f"/fhir/{url}", headers=headers, json=body).status_code


MERGE = parameters(
    **{
        "source-patient": {"valueReference": {"reference": "Patient/dao2"}},
        "target-patient": {"valueReference": {"reference": "Patient/dao"}},
    }
)
MATCH = parameters(resource={"resource": person()})


def test_scopes_for_the_mpi_operations(secured: tuple[FhirClient, SecurityServices]) -> None:
    client, security = secured
    patient = security.tokens.issue("dao", "patient/*.cruds", patient="dao")
    reader = security.tokens.issue("clerk", "user/Patient.rs")
    steward = security.tokens.issue("steward-1", "user/Patient.cruds user/Task.rs")
    # A patient's own token reaches no other record: no $match, no queue, no merge.
    assert call(client, patient, "POST", "Patient/$match", MATCH) == 403
    assert call(client, patient, "GET", "Patient/$mpi-review") == 403
    assert call(client, patient, "POST", "Patient/$merge", MERGE) == 403
    # Reading and searching all patients allows $match and the queue, not a merge.
    assert call(client, reader, "POST", "Patient/$match", MATCH) == 200
    assert call(client, reader, "GET", "Patient/$mpi-review") == 200
    assert call(client, reader, "POST", "Patient/$merge", MERGE) == 403
    assert call(client, steward, "POST", "Patient/$merge", MERGE) == 200
    headers = {"Authorization": f"Bearer {steward}"}
    merged = client.get("/fhir/Patient/dao2", headers=headers).json()
    assert merged["active"] is False
    # Audited: every MPI request (refused ones too) is an AuditEvent of the guard.
    operations = [e for e in security.audit.events() if e["subtype"][0]["code"] == "operation"]
    by_subject = {(e["agent"][0]["who"]["identifier"]["value"], e["outcome"]) for e in operations}
    assert ("steward-1", "0") in by_subject
    assert ("dao", "4") in by_subject
    task_search = client.get("/fhir/Task?focus=Patient/dao2", headers=headers).json()
    owners = {e["resource"]["owner"]["display"] for e in task_search["entry"]}
    assert owners == {"steward-1"}
