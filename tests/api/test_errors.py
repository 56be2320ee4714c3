"""Errors are OperationOutcomes with the right status; client garbage never gives a 5xx.

https://hl7.org/fhir/R4/http.html#summary (status codes) and #mime-type (negotiation).
"""

from __future__ import annotations

import itertools

import httpx
import orjson
import pytest

from tests.api.fhir_client import FHIR_JSON, FhirClient, patient

GARBAGE: list[bytes] = [
    b"",
    b"{",
    b'{"resourceType": "Patient"',
    b"\xff\xfe\x00garbage",
    b'{"resourceType": "Patient", "birthDate": "\xc3\x28"}',
    b"null",
    b"[]",
    b"[1, 2, 3]",
    b'"Patient"',
    b"12345678901234567890123456789012345678901234567890",
    b'{"resourceType": "Patient", "multipleBirthInteger": 1e400}',
    b'{"resourceType": "Patient", "multipleBirthInteger": 123456789012345678901234567890}',
    b'{"resourceType": null}',
    b'{"resourceType": ["Patient"]}',
    b'{"resourceType": "Patient", "id": {"a": 1}, "name": "x", "gender": 7}',
    b'{"resourceType": "Patient", "meta": [], "extension": {"url": null}}',
    b'{"resourceType": "Patient", "contained": [null, 1, {"resourceType": 5}]}',
    b'{"resourceType": "Bundle", "type": "transaction", "entry": [null, {"request": []}]}',
    b'{"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": '
    b'"POST", "url": "Patient"}, "resource": {"resourceType": "Patient", "x": 1}}]}',
    b'{"resourceType": "Patient", "extension": '
    + b'[{"extension": ' * 400
    + b"[]"
    + b"}]" * 400
    + b"}",
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": 5}]}',
    b'[{"op": "replace", "path": "/", "value": null}]',
    b'[{"op": "move", "from": "/id", "path": "/x"}]',
]
TARGETS = [
    ("POST", "/fhir/Patient"),
    ("PUT", "/fhir/Patient/p1"),
    ("PUT", "/fhir/Patient?_id=p1"),
    ("PATCH", "/fhir/Patient/p1"),
    ("POST", "/fhir"),
    ("POST", "/fhir/Patient/$validate"),
    ("POST", "/fhir/Patient/p1/$validate"),
    ("POST", "/fhir/Patient/_search"),
]
CONTENT_TYPES = ["application/fhir+json", "application/json-patch+json"]


def test_garbage_never_gives_a_server_error(fhir: FhirClient) -> None:
    create_response = fhir.put("/fhir/Patient/p1", json=patient(id="p1"), headers=FHIR_JSON)
    assert create_response.status_code == 201
    failures = []
    for (method, url), body, content_type in itertools.product(TARGETS, GARBAGE, CONTENT_TYPES):
        response = fhir.request(method, url, content=body, headers={"Content-Type": content_type})
        if response.status_code >= 500:
            failures.append((method, url, body[:60], content_type, response.text[:200]))
        if response.status_code >= 400:
            assert response.json()["resourceType"] == "OperationOutcome"
    assert failures == []


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/fhir/Nonsense/1", 404),
        ("GET", "/fhir/Patient/unknown", 404),
        ("GET", "/fhir/Patient/bad$id", 400),
        ("GET", "/fhir/Patient/1/_history/x", 404),
        ("GET", "/fhir/Patient/1/extra/segments/here", 404),
        ("DELETE", "/fhir", 405),
        ("PUT", "/fhir/metadata", 405),
        ("POST", "/fhir/Patient/1", 405),
        ("DELETE", "/fhir/Patient/1/_history/1", 405),
        ("GET", "/fhir/$nothing", 404),
        ("GET", "/fhir/Patient/$nothing", 404),
        ("GET", "/elsewhere", 404),
        ("OPTIONS", "/fhir/Patient", 405),
        ("FOO", "/fhir/Patient/1", 405),
    ],
)
def test_status_codes(fhir: FhirClient, method: str, url: str, status: int) -> None:
    response = fhir.request(method, url)
    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({"Content-Type": "application/fhir+xml"}, "", 415),
        ({"Content-Type": "text/plain"}, "", 415),
        ({"Content-Type": "application/fhir+json; charset=utf-8"}, "", 201),
        ({"Content-Type": "application/json"}, "", 201),
        ({"Content-Type": "application/fhir+json", "Accept": "application/fhir+xml"}, "", 406),
        ({"Content-Type": "application/fhir+json"}, "?_format=xml", 406),
        ({"Content-Type": "application/fhir+json"}, "?_format=json", 201),
        ({"Content-Type": "application/fhir+json", "Accept": "text/html, */*;q=0.8"}, "", 201),
    ],
)
def test_media_types(fhir: FhirClient, headers: dict[str, str], query: str, status: int) -> None:
    body = b'{"resourceType": "Patient"}'
    response = fhir.post(f"/fhir/Patient{query}", content=body, headers=headers)
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (patient(birthDate="17/05/1990"), 400),
        ({"resourceType": "Observation", "status": "final"}, 400),
        (patient(unknownElement=1), 400),
    ],
)
def test_invalid_content_is_400_with_expressions(
    fhir: FhirClient, body: dict[str, object], status: int
) -> None:
    response = fhir.post(f"/fhir/{body['resourceType']}", json=body, headers=FHIR_JSON)
    if body["resourceType"] != "Patient":
        response = fhir.post("/fhir/Patient", json=body, headers=FHIR_JSON)
    assert response.status_code == status
    issues = response.json()["issue"]
    assert issues and all(i["severity"] in ("error", "fatal", "warning") for i in issues)
    assert any(i.get("expression") for i in issues)


def test_oversized_body_is_413(fhir: FhirClient) -> None:
    big = b'{"resourceType": "Patient", "name": [{"text": "' + b"x" * 300_000 + b'"}]}'
    response = fhir.post("/fhir/Patient", content=big, headers=FHIR_JSON)
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-costly"


def test_head_is_get_without_a_body(fhir: FhirClient) -> None:
    created = fhir.put("/fhir/Patient/h1", json=patient(id="h1"), headers=FHIR_JSON)
    head = fhir.request("HEAD", "/fhir/Patient/h1")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["ETag"] == created.headers["ETag"]
    assert fhir.request("HEAD", "/fhir/Patient/none").status_code == 404


GARBAGE_URLS = [
    "/fhir/Patient?_count=%FF",
    "/fhir/Patient?_count=99999999999999999999",
    "/fhir/Patient/%00",
    "/fhir/Patient/%FF%FE",
    "/fhir/Patient?_lastUpdated=gt",
    "/fhir/Patient?_lastUpdated=ge2020-02-30",
    "/fhir/Patient?_lastUpdated=ge2020-02-29T25:00:00Z",
    "/fhir/Patient?_lastUpdated=eq9999-12-31T23:59:59.999999999999Z",
    "/fhir/Patient?_lastUpdated=ge-0001",
    "/fhir/Patient?_id=",
    "/fhir/Patient?_id=,,,",
    "/fhir/Patient?_sort=",
    "/fhir/Patient?_sort=-",
    "/fhir/Patient?_cursor=garbage",
    "/fhir/Patient?_cursor=%00%01",
    "/fhir/Patient?_summary=count&_elements=,",
    "/fhir/Patient?_elements=%FF",
    "/fhir/_history?_since=2020-02-30T00:00:00Z",
    "/fhir/_history?_since=2020-01-01",
    "/fhir/_history?_count=-5",
    "/fhir/_history?_cursor=%FF",
    "/fhir?_type=Nonsense",
    "/fhir?_type=Patient,Observation",
    "/fhir?_type=",
    "/fhir/Patient/1/_history/99999999999999999999",
    "/fhir/Patient/1/_history/0",
    "/fhir/Patient?_format=%FF",
    "/fhir/metadata?_pretty=%FF",
]


def test_garbage_urls_never_give_a_server_error(fhir: FhirClient) -> None:
    failures = []
    for url in GARBAGE_URLS:
        response = fhir.get(url)
        if response.status_code >= 500:
            failures.append((url, response.status_code, response.text[:200]))
        if response.status_code >= 400:
            assert response.json()["resourceType"] == "OperationOutcome"
    assert failures == []


GARBAGE_HEADERS = [
    {"If-Match": "W/"},
    {"If-Match": 'W/"99999999999999999999999"'},
    {"If-None-Match": 'W/"x", *, ,'},
    {"If-Modified-Since": "Mon, 99 Foo 99999 99:99:99 GMT"},
    {"If-None-Exist": "%%%"},
    {"If-None-Exist": "_lastUpdated=ge2020-02-30"},
    {"If-None-Exist": "Observation?_id=x"},
    {"Prefer": "return=,handling=;;;=="},
    {"Accept": ";;;,,,"},
    {"Content-Type": ";charset=utf-8"},
    {"Content-Length": "-1"},
]


def test_garbage_headers_never_give_a_server_error(fhir: FhirClient) -> None:
    fhir.put("/fhir/Patient/p1", json=patient(id="p1"), headers=FHIR_JSON)
    failures = []
    for headers in GARBAGE_HEADERS:
        for method, url in [
            ("GET", "/fhir/Patient/p1"),
            ("POST", "/fhir/Patient"),
            ("PUT", "/fhir/Patient/p1"),
            ("DELETE", "/fhir/Patient?_id=zz"),
        ]:
            body = b"" if method in ("GET", "DELETE") else orjson.dumps(patient(id="p1"))
            try:
                response = fhir.request(method, url, content=body, headers=headers)
            except httpx.LocalProtocolError:
                continue  # the client itself refuses to send it
            if response.status_code >= 500:
                failures.append((method, headers, response.text[:200]))
    assert failures == []
