"""The OpenAPI description at ``[base]/openapi.json`` and a bounded schemathesis run against it.

The description is generated from the CapabilityStatement, so the first tests compare the two;
then schemathesis (https://schemathesis.readthedocs.io) fuzzes a live server (uvicorn over TCP,
authentication on) from the description: with a valid token no answer may be a 5xx and every
answer must conform (documented status, content type, schema, headers; schema-invalid input
refused); without a token every protected operation must answer 401. Bounded to a few hundred
cases per database: the Patient, Observation and Consent types and the system level.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from tests.live_server import serve_in_thread
from yteso.app import create_app
from yteso.auth import SecurityServices
from yteso.store import open_store
from yteso.store.auth_records import auth_records
from yteso.store.sql_store import SqlStore

FUZZED_TAGS = "^(system|Patient|Observation|Consent)$"
EXAMPLES_PER_OPERATION = 8
EXAMPLES_WITHOUT_TOKEN = 3  # every answer is the same 401: fewer cases say as much
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
    checks.unsupported_method,
]
SEED = [
    {"resourceType": "Patient", "id": "p1", "name": [{"family": "Nguyen", "given": ["An"]}]},
    {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "valueQuantity": {"value": 72, "unit": "/min"},
    },
]


class Live:
    def __init__(self, base: str, token: str, store: SqlStore) -> None:
        self.base = base
        self.token = token
        self.store = store


@pytest.fixture
def live(store_url: str) -> Iterator[Live]:
    store = open_store(store_url)
    store.bulk_write([dict(r) for r in SEED])
    with tempfile.TemporaryDirectory() as home:
        security = SecurityServices.open(Path(home) / "auth", state=auth_records(store))
        token = security.tokens.issue("fuzzer", "system/*.cruds", ttl=600)
        app = create_app(store, security=security, exports_dir=Path(home) / "exports")
        try:
            with serve_in_thread(app) as base:
                yield Live(base, token, store)
        finally:
            security.audit.close()  # its head timer must not outlive the folder
            store.close()


def test_the_description_follows_the_capability_statement(live: Live) -> None:
    metadata = httpx.get(f"{live.base}/fhir/metadata").json()
    document = httpx.get(f"{live.base}/fhir/openapi.json").json()  # public, like metadata
    assert document["openapi"].startswith("3.0")
    assert document["servers"] == [{"url": f"{live.base}/fhir"}]
    paths = document["paths"]
    rest = metadata["rest"][0]
    for resource in rest["resource"]:
        name = resource["type"]
        assert {"get", "post"} <= set(paths[f"/{name}"]), name
        assert {"get", "put", "patch", "delete"} <= set(paths[f"/{name}/{{id}}"]), name
        assert f"/{name}/{{id}}/_history/{{vid}}" in paths
        described = {p["name"] for p in paths[f"/{name}"]["get"]["parameters"] if "name" in p}
        assert described == {p["name"] for p in resource["searchParam"]}, name
        for operation in resource.get("operation", []):
            assert any(p.endswith(f"/${operation['name']}") for p in paths), operation
    assert "/$export" in paths and "/Patient/$validate" in paths
    assert paths["/metadata"]["get"]["security"] == []
    assert document["security"] == [{"bearer": []}, {"smart": []}]


def _fuzz(live: Live, headers: dict[str, str]) -> Counter[int]:
    schema = schemathesis.openapi.from_url(f"{live.base}/fhir/openapi.json")
    schema = schema.include(tag_regex=FUZZED_TAGS)
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION if headers else EXAMPLES_WITHOUT_TOKEN,
            deadline=None,
            database=None,
            derandomize=True,  # the same cases on every run: CI failures reproduce
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                base_url=f"{live.base}/fhir", headers=headers, checks=CHECKS, timeout=30
            )
            statuses[response.status_code] += 1
            if not headers and case.operation.label != "GET /metadata":
                assert response.status_code == 401, case.operation.label

        run()
    return statuses


def test_fuzzing_with_a_valid_token_finds_no_5xx_and_conforming_answers(live: Live) -> None:
    statuses = _fuzz(live, {"Authorization": f"Bearer {live.token}"})
    assert sum(statuses.values()) >= 150
    assert not [s for s in statuses if s >= 500]
    assert statuses[200] > 0 and sum(n for s, n in statuses.items() if 400 <= s < 500) > 0


def test_fuzzing_without_a_token_is_refused_everywhere_but_metadata(live: Live) -> None:
    statuses = _fuzz(live, {})
    assert set(statuses) <= {200, 401} and statuses[401] >= 60
    assert live.store.counts().get("Patient") == 1  # nothing was written
