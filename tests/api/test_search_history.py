"""search and history — https://hl7.org/fhir/R4/http.html#search, #history"""

from __future__ import annotations

import pytest

from tests.api.fhir_client import FHIR_JSON, FhirClient, create, patient


def test_search_by_id_with_paging_links(fhir: FhirClient) -> None:
    ids = [create(fhir, patient())["id"] for _ in range(5)]
    page = fhir.get("/fhir/Patient", params={"_count": "2", "_sort": "_id"}).json()
    assert page["type"] == "searchset"
    seen: list[str] = []
    while True:
        seen += [e["resource"]["id"] for e in page["entry"]]
        assert all(e["search"]["mode"] == "match" for e in page["entry"])
        assert all(
            e["fullUrl"].startswith("http://testserver/fhir/Patient/") for e in page["entry"]
        )
        links = {link["relation"]: link["url"] for link in page["link"]}
        assert "self" in links
        if "next" not in links:
            break
        page = fhir.get(links["next"]).json()
    assert seen == sorted(ids)
    chosen = fhir.get("/fhir/Patient", params={"_id": f"{ids[0]},{ids[3]}"}).json()
    assert {e["resource"]["id"] for e in chosen["entry"]} == {ids[0], ids[3]}


def test_post_search_system_search_and_count(fhir: FhirClient) -> None:
    first = create(fhir, patient())
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    posted = fhir.post("/fhir/Patient/_search", content=f"_id={first['id']}", headers=form)
    assert posted.status_code == 200, posted.text
    assert [e["resource"]["id"] for e in posted.json()["entry"]] == [first["id"]]
    system = fhir.get("/fhir", params={"_type": "Patient", "_id": first["id"]}).json()
    assert len(system["entry"]) == 1
    everything = fhir.get("/fhir", params={"_id": first["id"]}).json()
    assert [e["resource"]["id"] for e in everything["entry"]] == [first["id"]]
    assert (
        fhir.get("/fhir", params={"_type": "Organization", "_id": first["id"]})
        .json()
        .get("entry", [])
        == []
    )
    several = fhir.get("/fhir", params={"_type": "Patient,Organization"}).json()
    assert [e["resource"]["id"] for e in several["entry"]] == [first["id"]]
    assert fhir.get("/fhir", params={"_type": "Basic,Organization"}).json().get("entry", []) == []
    count = fhir.get("/fhir/Patient", params={"_summary": "count"}).json()
    assert count["total"] == 1
    assert count.get("entry", []) == []
    total = fhir.get("/fhir/Patient", params={"_total": "accurate"}).json()
    assert total["total"] == 1


def test_unknown_parameters_are_reported_or_strict(fhir: FhirClient) -> None:
    create(fhir, patient())
    lenient = fhir.get("/fhir/Patient", params={"frobnicate": "1"}).json()
    outcomes = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1
    assert "frobnicate" in outcomes[0]["resource"]["issue"][0]["diagnostics"]
    assert len(lenient["entry"]) == 2
    strict = fhir.get(
        "/fhir/Patient", params={"frobnicate": "1"}, headers={"Prefer": "handling=strict"}
    )
    assert strict.status_code == 400


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"_count": "-1"}, "_count"),
        ({"_count": "many"}, "_count"),
        ({"_lastUpdated": "yesterday"}, "_lastUpdated"),
        ({"_sort": "no-such-param"}, "_sort"),
        ({"birthdate": "not-a-date"}, "birthdate"),
        ({"organization.nope": "x"}, "organization"),
        ({"_total": "some"}, "_total"),
        ({"_summary": "maybe"}, "_summary"),
        ({"_id": "bad id!"}, "_id"),
    ],
)
def test_malformed_values_are_400_naming_the_parameter(
    fhir: FhirClient, params: dict[str, str], named: str
) -> None:
    response = fhir.get("/fhir/Patient", params=params)
    assert response.status_code == 400
    assert named in response.text


def test_search_by_last_updated_and_elements(fhir: FhirClient) -> None:
    created = create(fhir, patient(gender="male"))
    stamp = created["meta"]["lastUpdated"]
    match = fhir.get("/fhir/Patient", params={"_lastUpdated": f"ge{stamp}"}).json()
    assert [e["resource"]["id"] for e in match["entry"]] == [created["id"]]
    none = fhir.get("/fhir/Patient", params={"_lastUpdated": "lt2000-01-01"}).json()
    assert none.get("entry", []) == []
    slim = fhir.get("/fhir/Patient", params={"_elements": "gender"}).json()
    assert set(slim["entry"][0]["resource"]) == {"resourceType", "id", "meta", "gender"}


def test_history_levels_since_and_paging(fhir: FhirClient) -> None:
    created = create(fhir, patient())
    url = f"/fhir/Patient/{created['id']}"
    fhir.put(url, json={**created, "gender": "female"}, headers=FHIR_JSON)
    fhir.delete(url)
    other = create(fhir, {"resourceType": "Organization", "name": "Tram y te"})
    instance = fhir.get(f"{url}/_history").json()
    assert instance["type"] == "history"
    methods = [e["request"]["method"] for e in instance["entry"]]
    assert methods == ["DELETE", "PUT", "POST"]
    assert "resource" not in instance["entry"][0]
    assert instance["entry"][2]["response"]["etag"] == 'W/"1"'
    type_level = fhir.get("/fhir/Patient/_history").json()
    assert len(type_level["entry"]) == 3
    system = fhir.get("/fhir/_history", params={"_count": "2"}).json()
    assert len(system["entry"]) == 2
    next_url = {link["relation"]: link["url"] for link in system["link"]}["next"]
    assert len(fhir.get(next_url).json()["entry"]) == 2
    since = fhir.get("/fhir/_history", params={"_since": other["meta"]["lastUpdated"]}).json()
    assert [e["resource"]["id"] for e in since["entry"]] == [other["id"]]
    assert fhir.get("/fhir/_history", params={"_since": "soon"}).status_code == 400
