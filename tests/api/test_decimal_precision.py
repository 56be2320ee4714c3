"""Accepted data is never silently altered: FHIR decimals keep their exact digits
(https://hl7.org/fhir/R4/datatypes.html#decimal) through every write path, on both databases."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.api.fhir_client import FHIR_JSON, FhirClient
from yteso.store import load_paths, open_store

# Numbers a binary float would change: trailing zeros, 30 significant digits, a 25-digit integer.
VALUES = ("1.50", "0.100", "12345678901234567890.123456789", "1234567890123456789012345")


def observation_text(value: str, resource_id: str | None = None) -> bytes:
    head = f'"id":"{resource_id}",' if resource_id else ""
    return (
        '{"resourceType":"Observation",' + head + '"status":"final","code":{"text":"weight"},'
        '"valueQuantity":{"value":' + value + ',"unit":"kg"}}'
    ).encode()


def value_text(body: bytes) -> str:
    return body.split(b'"value":', 1)[1].split(b",", 1)[0].decode()


@pytest.mark.parametrize("value", VALUES)
def test_create_update_and_transaction_keep_decimal_digits(fhir: FhirClient, value: str) -> None:
    created = fhir.post("/fhir/Observation", content=observation_text(value), headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    assert value_text(fhir.get(httpx.URL(created.headers["location"]).path).content) == value

    updated = fhir.put(
        "/fhir/Observation/o1", content=observation_text(value, "o1"), headers=FHIR_JSON
    )
    assert updated.status_code == 201, updated.text
    assert value_text(fhir.get("/fhir/Observation/o1").content) == value

    entry = observation_text(value).decode()
    bundle = (
        '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":' + entry + ","
        '"request":{"method":"POST","url":"Observation"}}]}'
    )
    response = fhir.post("/fhir", content=bundle.encode(), headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    location = response.json()["entry"][0]["response"]["location"]
    path = httpx.URL(location).path if "://" in location else "/fhir/" + location
    assert value_text(fhir.get(path).content) == value


def test_bulk_load_keeps_decimal_digits(store_url: str, tmp_path: Path) -> None:
    lines = [observation_text(v, f"o{i}") for i, v in enumerate(VALUES)]
    (tmp_path / "Observation.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    store = open_store(store_url)
    try:
        report = load_paths(store, [tmp_path / "Observation.ndjson"])
        assert report.failed == 0 and report.loaded == len(VALUES)
        for i, value in enumerate(VALUES):
            assert value_text(store.read("Observation", f"o{i}").body) == value
    finally:
        store.close()
