"""Parallel writers through the API: version-aware updates have exactly one winner, and no
update is lost (https://hl7.org/fhir/R4/http.html#concurrency)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.api.fhir_client import FHIR_JSON, FhirClient, create, patient

WRITERS = 8


def test_if_match_has_one_winner_and_no_update_is_lost(fhir: FhirClient) -> None:
    created = create(fhir, patient())
    url = f"/fhir/Patient/{created['id']}"

    def guarded(n: int) -> int:
        body = {**created, "gender": "male" if n % 2 else "female"}
        headers = {**FHIR_JSON, "If-Match": 'W/"1"'}
        return fhir.put(url, json=body, headers=headers).status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = sorted(pool.map(guarded, range(WRITERS)))
    assert statuses == [200] + [412] * (WRITERS - 1)

    def unguarded(n: int) -> int:
        body = {**created, "birthDate": f"19{50 + n}-01-01"}
        return fhir.put(url, json=body, headers=FHIR_JSON).status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        assert set(pool.map(unguarded, range(WRITERS))) == {200}
    assert fhir.get(url).headers["ETag"] == f'W/"{2 + WRITERS}"'
    history = fhir.get(f"{url}/_history").json()
    versions = [int(e["response"]["etag"][3:-1]) for e in history["entry"]]
    assert versions == list(range(2 + WRITERS, 0, -1))


def test_parallel_transactions_are_each_atomic(fhir: FhirClient) -> None:
    def transaction(n: int) -> int:
        entries = [
            {
                "fullUrl": f"urn:uuid:{n}-{i}",
                "resource": patient(birthDate="not-a-date" if n % 2 and i == 4 else "2000-01-01"),
                "request": {"method": "POST", "url": "Patient"},
            }
            for i in range(5)
        ]
        body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        return fhir.post("/fhir", json=body, headers=FHIR_JSON).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(transaction, range(8)))
    assert statuses == [200, 400] * 4
    assert fhir.get("/fhir/Patient?_summary=count").json()["total"] == 4 * 5


def test_crossing_transactions_end_in_200_or_409_never_500(fhir: FhirClient) -> None:
    """A deletes x then writes y while B deletes y then writes x: on PostgreSQL they may
    deadlock; the loser gets a 409 to retry, never a 500, and the winner is applied whole."""
    for name in ("x", "y"):
        fhir.put(f"/fhir/Patient/{name}", json=patient(id=name), headers=FHIR_JSON)

    def crossing(n: int) -> int:
        delete, write = ("x", "y") if n % 2 else ("y", "x")
        entries = [
            {"request": {"method": "DELETE", "url": f"Patient/{delete}"}},
            {
                "resource": patient(id=write),
                "request": {"method": "PUT", "url": f"Patient/{write}"},
            },
        ]
        body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        return fhir.post("/fhir", json=body, headers=FHIR_JSON).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(crossing, range(8)))  # a deadlock costs 1 s
    assert set(statuses) <= {200, 409}
    assert 200 in statuses
