"""An API client over a real store, once per backend (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.fhir_client import FhirClient
from yteso.api import OPEN_ACCESS_FOR_TESTS, create_fhir_app
from yteso.store import open_store


@pytest.fixture
def fhir(store_url: str) -> Iterator[FhirClient]:
    store = open_store(store_url)
    try:
        with FhirClient(
            create_fhir_app(store, access=OPEN_ACCESS_FOR_TESTS, max_body_bytes=256 * 1024)
        ) as client:
            yield client
    finally:
        store.close()
