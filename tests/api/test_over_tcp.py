"""The API under a real uvicorn server, spoken to over TCP."""

from __future__ import annotations

import httpx

from tests.live_server import serve_in_thread
from yteso.api import OPEN_ACCESS_FOR_TESTS, create_fhir_app
from yteso.store import open_store


def test_round_trip_over_http(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with (
            serve_in_thread(create_fhir_app(store, access=OPEN_ACCESS_FOR_TESTS)) as base,
            httpx.Client(base_url=base) as http,
        ):
            headers = {"Content-Type": "application/fhir+json"}
            body = b'{"resourceType": "Patient", "birthDate": "2001-02-03"}'
            created = http.post("/fhir/Patient", content=body, headers=headers)
            assert created.status_code == 201
            location = created.headers["Location"]
            assert location.startswith(f"{base}/fhir/Patient/")
            read = http.get(location)
            assert read.status_code == 200
            assert read.content == created.content
            assert read.headers["ETag"] == 'W/"1"'
            garbage = http.post("/fhir/Patient", content=b"\xff{", headers=headers)
            assert garbage.status_code == 400
            assert http.get("/fhir/metadata").json()["resourceType"] == "CapabilityStatement"
    finally:
        store.close()


def test_mounted_under_a_larger_app(store_url: str) -> None:
    from starlette.applications import Starlette

    from yteso.api import fhir_routes

    store = open_store(store_url)
    try:
        outer = Starlette(
            routes=fhir_routes(create_fhir_app(store, access=OPEN_ACCESS_FOR_TESTS), "/fhir")
        )
        with serve_in_thread(outer) as base, httpx.Client(base_url=base) as http:
            batch = b'{"resourceType": "Bundle", "type": "batch", "entry": []}'
            headers = {"Content-Type": "application/fhir+json"}
            for url in ("/fhir", "/fhir/"):
                response = http.post(url, content=batch, headers=headers)
                assert response.status_code == 200, url
                assert response.json()["type"] == "batch-response"
            statement = http.get("/fhir/metadata").json()
            assert statement["implementation"]["url"] == f"{base}/fhir"
            assert http.get("/fhir/Patient/none").status_code == 404
    finally:
        store.close()
