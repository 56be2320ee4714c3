"""Search over HTTP: every parameter type, chains, _has, includes, compartments, sort paging."""

from __future__ import annotations

import pytest

from tests.api.fhir_client import FhirClient
from tests.store.search_fixtures import search_resources
from yteso.fhir.types import Json


@pytest.fixture
def fhir_seed() -> list[Json]:
    return search_resources()


def _entries(bundle: Json, mode: str) -> list[str]:
    return [
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == mode
    ]


@pytest.mark.parametrize(
    ("url", "matches", "included"),
    [
        ("/fhir/Patient?name=nguyen&_sort=_id", ["Patient/pat-nguyen", "Patient/pat-nguyen2"], []),
        ("/fhir/Patient?family=%C4%91%E1%BA%B7ng", ["Patient/pat-dang"], []),  # đặng
        (
            "/fhir/Observation?subject:Patient.name=dang&_sort=_id",
            ["Observation/obs-3", "Observation/obs-5"],
            [],
        ),
        (
            "/fhir/Observation?subject.organization.name=benh%20vien%20bach&_sort=_id",
            ["Observation/obs-1", "Observation/obs-2"],
            [],
        ),
        ("/fhir/Patient?_has:Observation:patient:code=2345-7", ["Patient/pat-tran"], []),
        (
            "/fhir/Observation?code=8867-4&_include=Observation:subject",
            ["Observation/obs-1"],
            ["Patient/pat-nguyen"],
        ),
        (
            "/fhir/Patient?_id=pat-dang&_revinclude=Observation:subject",
            ["Patient/pat-dang"],
            ["Observation/obs-3", "Observation/obs-5"],
        ),
        (
            "/fhir/Patient/pat-dang/Observation?_sort=_id",
            ["Observation/obs-3", "Observation/obs-5"],
            [],
        ),
        (
            "/fhir/Patient?birthdate=lt1990&_sort=-birthdate",
            ["Patient/pat-nguyen", "Patient/pat-tran"],
            [],
        ),
        (
            "/fhir/Observation?value-quantity=gt50|http://unitsofmeasure.org|kg&_sort=_id",
            ["Observation/obs-2", "Observation/obs-3"],
            [],
        ),
        ("/fhir?_tag=urgent", ["Observation/obs-1"], []),
        ("/fhir?_type=Patient&name=dang", ["Patient/pat-dang"], []),
        (
            "/fhir?_type=Patient,Practitioner&name=le,dang",
            ["Practitioner/prac-1", "Patient/pat-dang"],
            [],
        ),
        (
            "/fhir?_type=Observation,RiskAssessment&subject=Patient/pat-dang"
            "&_include=Observation:subject",
            ["Observation/obs-3", "Observation/obs-5"],
            ["Patient/pat-dang"],
        ),
        (
            "/fhir?_type=Patient,Practitioner&name=le&_summary=count",
            [],
            [],
        ),
    ],
)
def test_search_urls(fhir: FhirClient, url: str, matches: list[str], included: list[str]) -> None:
    response = fhir.get(url)
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert _entries(bundle, "match") == matches
    assert sorted(_entries(bundle, "include")) == included


def _matches_on_every_page(fhir: FhirClient, page: Json) -> list[str]:
    """The matches of a searchset and of every page its ``next`` links lead to."""
    seen = _entries(page, "match")
    while next_url := {link["relation"]: link["url"] for link in page["link"]}.get("next"):
        page = fhir.get(next_url).json()
        seen += _entries(page, "match")
    return seen


def test_post_search_with_chain_and_sort_paging(fhir: FhirClient) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = "_sort=birthdate&_count=1&gender=female,male"
    page = fhir.post("/fhir/Patient/_search", content=body, headers=form).json()
    seen = _matches_on_every_page(fhir, page)
    assert seen == [
        "Patient/pat-tran",
        "Patient/pat-nguyen",
        "Patient/pat-dang",
        "Patient/pat-nguyen2",
    ]
    count = fhir.get("/fhir/Observation?_summary=count&status=final").json()
    assert count["total"] == 3 and count.get("entry", []) == []


def test_unknown_and_malformed(fhir: FhirClient) -> None:
    lenient = fhir.get("/fhir/Patient?frobnicate=1&name=dang").json()
    assert _entries(lenient, "match") == ["Patient/pat-dang"]
    assert "frobnicate" in str(_outcome(lenient))
    strict = fhir.get("/fhir/Patient?frobnicate=1", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    bad = fhir.get("/fhir/Observation?value-quantity=ten")
    assert bad.status_code == 400 and "value-quantity" in bad.text


def test_several_types_allow_only_their_common_parameters(fhir: FhirClient) -> None:
    url = "/fhir?_type=Patient,Observation&name=dang&_id=obs-1,pat-dang,pat-tran&_sort=_id"
    lenient = fhir.get(url).json()  # name is not an Observation parameter: ignored, reported
    assert _entries(lenient, "match") == [
        "Observation/obs-1",
        "Patient/pat-dang",
        "Patient/pat-tran",
    ]
    assert "name" in str(_outcome(lenient)) and "_id" not in str(_outcome(lenient))
    strict = fhir.get(url, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400 and "name" in strict.text
    unknown = fhir.get("/fhir?_type=Patient,Nonsense&name=dang")
    assert unknown.status_code == 400 and "Nonsense" in unknown.text


def test_several_types_page_through_next_links(fhir: FhirClient) -> None:
    page = fhir.get("/fhir?_type=Organization,Practitioner,Patient&_count=2").json()
    seen = _matches_on_every_page(fhir, page)
    assert seen == [
        "Organization/org-hn",
        "Organization/org-hue",
        "Practitioner/prac-1",
        "Patient/pat-nguyen",
        "Patient/pat-dang",
        "Patient/pat-nguyen2",
        "Patient/pat-tran",
    ]


def _outcome(bundle: Json) -> list[Json]:
    return [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
