"""``/api/indicators`` and ``/api/quality`` over the live store (SQLite and PostgreSQL): the
access rule, incremental runs from the store (writes and deletes) equal to a full run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.api.fhir_client import FhirClient
from tests.api.secured_app import CHEAP_ARGON2
from tests.warehouse import indicator_data as data
from yteso.app import create_app
from yteso.auth import SecurityServices
from yteso.store import open_store
from yteso.store.base import Store


@dataclass
class Api:
    client: FhirClient
    store: Store
    security: SecurityServices

    def token(self, scope: str, patient: str | None = None) -> dict[str, str]:
        issued = self.security.tokens.issue("analyst", scope, patient=patient)
        return {"Authorization": f"Bearer {issued}"}


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[Api]:
    store = open_store(store_url)
    store.bulk_write([*data.coverage_set(), *data.encounter_set()[1:]])
    security = SecurityServices.open(tmp_path / "auth", password_hasher=CHEAP_ARGON2)
    app = create_app(
        store, security=security, exports_dir=tmp_path / "x", indicators_db=tmp_path / "i.duckdb"
    )
    try:
        with FhirClient(app) as client:
            yield Api(client, store, security)
    finally:
        store.close()


def _values(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {r["period"]: (r["numerator"], r["denominator"]) for r in body["rows"]}


def test_access_rule(api: Api) -> None:
    assert api.client.get("/api/indicators").status_code == 401
    patient = api.token("patient/*.rs", patient="pat-a")
    assert api.client.get("/api/indicators", headers=patient).status_code == 403
    only_patients = api.token("user/Patient.rs")
    assert api.client.get("/api/indicators", headers=only_patients).status_code == 403
    analyst = api.token("user/MeasureReport.rs")
    listed = api.client.get("/api/indicators", headers=analyst)
    assert listed.status_code == 200
    assert "dtp3-coverage" in {i["id"] for i in listed.json()["indicators"]}
    assert api.client.post("/api/indicators/$run", headers=analyst).status_code == 403
    assert (
        api.client.post("/api/indicators/$run", headers=api.token("system/*.rs")).status_code == 200
    )
    events = [e for e in api.security.audit.events() if "indicators" in str(e)]
    assert events, "aggregate reads are audited"


def test_runs_from_the_store_follow_writes_and_deletes(api: Api) -> None:
    system = api.token("system/*.cruds")
    first = api.client.post("/api/indicators/$run", headers=system)
    assert first.status_code == 200, first.text
    dtp3 = api.client.get("/api/indicators/dtp3-coverage?period=month", headers=system).json()
    assert _values(dtp3) == {"2025-01": (1, 2), "2025-02": (0, 2)}

    with api.store.session() as session:  # b gets a 3rd dose in time; a's measles dose goes
        session.create(data.dose("i-b3", "pat-b", "102", 3, "2024-05-25"), id="i-b3")
        session.delete("Immunization", "i-am")
    second = api.client.post("/api/indicators/$run", headers=system).json()
    assert second["changed"]["ind_immunization"] == 1 and second["deleted"] == 1
    assert second["changed"]["ind_patient"] == 0
    dtp3 = api.client.get("/api/indicators/dtp3-coverage?period=month", headers=system).json()
    assert _values(dtp3) == {"2025-01": (2, 2), "2025-02": (0, 2)}
    measles = api.client.get("/api/indicators/measles-coverage?period=month", headers=system)
    assert _values(measles.json()) == {"2025-01": (0, 2), "2025-02": (1, 2)}

    everything = {
        ident: api.client.get(
            f"/api/indicators/{ident}?period=month&by=facility,sex", headers=system
        ).json()
        for ident in ("dtp3-coverage", "measles-coverage", "electronic-record-share")
    }
    assert api.client.post("/api/indicators/$run?full=true", headers=system).status_code == 200
    for ident, body in everything.items():
        again = api.client.get(
            f"/api/indicators/{ident}?period=month&by=facility,sex", headers=system
        )
        assert again.json() == body


def test_queries_and_errors(api: Api) -> None:
    analyst = api.token("user/*.rs")
    api.client.post("/api/indicators/$run", headers=api.token("system/*.rs"))
    shares = api.client.get(
        "/api/indicators/electronic-record-share?period=month&by=facility", headers=analyst
    ).json()
    assert {(r["facility"], r["value"]) for r in shares["rows"]} == {
        ("org-1", 50.0),
        ("org-2", 0.0),
    }
    report = api.client.get(
        "/api/indicators/telehealth-share?period=year&format=MeasureReport", headers=analyst
    ).json()
    assert report["resourceType"] == "MeasureReport"
    assert report["group"][0]["measureScore"]["value"] == pytest.approx(33.3333)
    bad = api.client.get("/api/indicators/dtp3-coverage?by=district", headers=analyst)
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["diagnostics"].startswith("by: unknown disaggregation")
    assert api.client.get("/api/indicators/nope", headers=analyst).status_code == 404
    quality = api.client.get(
        "/api/quality?period=all&by=facility&check=immunization-patient-resolves", headers=analyst
    ).json()
    assert sum(r["total"] for r in quality["rows"]) == 10
    assert all(r["score"] == 100.0 for r in quality["rows"])
