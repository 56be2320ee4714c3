"""An API client over a real store, once per backend (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.fhir_client import FhirClient
from yteso.api import OPEN_ACCESS_FOR_TESTS, create_fhir_app
from yteso.fhir.types import Json
from yteso.store import open_store


@pytest.fixture
def fhir_seed() -> list[Json]:
    """What the ``fhir`` fixture's store holds first: nothing, unless a module overrides it."""
    return []


@pytest.fixture
def fhir(store_url: str, fhir_seed: list[Json]) -> Iterator[FhirClient]:
    store = open_store(store_url)
    if fhir_seed:
        store.bulk_write([dict(resource) for resource in fhir_seed])
    try:
        with FhirClient(
            create_fhir_app(store, access=OPEN_ACCESS_FOR_TESTS, max_body_bytes=256 * 1024)
        ) as client:
            yield client
    finally:
        store.close()
