"""Transaction planning: order, duplicates, identities, reference rewriting (pure)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from yteso.fhir.bundles import (
    _NARRATIVE_LINK,
    _collect_links,
    assign_identities,
    check_duplicates,
    conditional_references,
    processing_order,
    read_entries,
    rewrite_references,
)
from yteso.fhir.errors import Invalid
from yteso.synth import iter_resources


def entry(method: str, url: str, full_url: str | None = None, **resource: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"request": {"method": method, "url": url}}
    if full_url:
        out["fullUrl"] = full_url
    if resource:
        out["resource"] = resource
    return out


def transaction(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def test_processing_order_is_delete_post_put_patch_get_and_stable() -> None:
    bundle = transaction(
        entry("GET", "Patient/1"),
        entry("PUT", "Patient/2", resourceType="Patient", id="2"),
        entry("POST", "Patient", "urn:uuid:a", resourceType="Patient"),
        entry("DELETE", "Patient/3"),
        entry("PATCH", "Patient/4", resourceType="Parameters"),
        entry("POST", "Patient", "urn:uuid:b", resourceType="Patient"),
    )
    _, entries = read_entries(bundle)
    assert [e.index for e in processing_order(entries)] == [3, 2, 5, 1, 4, 0]


def test_writes_are_ordered_by_target_within_their_group() -> None:
    bundle = transaction(
        entry("PUT", "Patient/b", resourceType="Patient", id="b"),
        entry("GET", "Patient/z"),
        entry("PATCH", "Patient/a", resourceType="Parameters"),
        entry("DELETE", "Patient/y"),
        entry("GET", "Patient/c"),
        entry("DELETE", "Patient/x"),
    )
    _, entries = read_entries(bundle)
    assert [e.index for e in processing_order(entries)] == [5, 3, 2, 0, 1, 4]


@pytest.mark.parametrize(
    ("bundle", "expression"),
    [
        ({"resourceType": "Patient"}, "Bundle"),
        ({"resourceType": "Bundle", "type": "collection"}, "Bundle.type"),
        ({"resourceType": "Bundle", "type": "batch", "entry": {}}, "Bundle.entry"),
        (transaction({"resource": {}}), "Bundle.entry[0].request"),
        (transaction(entry("GO", "Patient")), "Bundle.entry[0].request.method"),
        (transaction(entry("GET", " ")), "Bundle.entry[0].request.url"),
        (transaction(entry("POST", "Patient")), "Bundle.entry[0].resource"),
        (transaction(entry("GET", "Patient"), 7), "Bundle.entry[1]"),
    ],
)
def test_malformed_bundles_name_the_element(bundle: dict[str, Any], expression: str) -> None:
    with pytest.raises(Invalid) as caught:
        read_entries(bundle)
    assert caught.value.issues[0].expression == (expression,)


@pytest.mark.parametrize(
    ("entries", "duplicate_at"),
    [
        (
            [
                entry("POST", "Patient", "urn:uuid:a", resourceType="Patient"),
                entry("POST", "Patient", "urn:uuid:a", resourceType="Patient"),
            ],
            "Bundle.entry[1].fullUrl",
        ),
        (
            [
                entry("PUT", "Patient/1", resourceType="Patient", id="1"),
                entry("PUT", "Patient/1", resourceType="Patient", id="1"),
            ],
            "Bundle.entry[1].request.url",
        ),
        (
            [entry("DELETE", "Patient/1"), entry("PUT", "Patient/1", resourceType="Patient")],
            "Bundle.entry[1].request.url",
        ),
        ([entry("GET", "Patient/1"), entry("GET", "Patient/1")], None),
        ([entry("PUT", "Patient?x=1", resourceType="Patient")] * 2, None),
    ],
)
def test_duplicates(entries: list[dict[str, Any]], duplicate_at: str | None) -> None:
    _, planned = read_entries(transaction(*entries))
    if duplicate_at is None:
        check_duplicates(planned)
        return
    with pytest.raises(Invalid) as caught:
        check_duplicates(planned)
    assert caught.value.issues[0].expression == (duplicate_at,)
    assert caught.value.issues[0].code == "duplicate"


def test_identities_and_rewriting_reach_extensions_and_contained() -> None:
    bundle = transaction(
        entry("POST", "Patient", "urn:uuid:p", resourceType="Patient"),
        entry("PUT", "Practitioner/dr", "urn:oid:1.2.3", resourceType="Practitioner", id="dr"),
        entry(
            "POST",
            "Observation",
            "http://other/Observation/9",
            resourceType="Observation",
            subject={"reference": "urn:uuid:p"},
            performer=[{"reference": "urn:oid:1.2.3"}, {"reference": "Organization/x"}],
            extension=[{"url": "u", "valueReference": {"reference": "urn:uuid:p"}}],
            contained=[{"resourceType": "Provenance", "target": [{"reference": "urn:uuid:p"}]}],
        ),
    )
    _, entries = read_entries(bundle)
    ids = (f"id{n}" for n in itertools.count())
    mapping = assign_identities(entries, new_id=lambda: next(ids))
    assert mapping == {"urn:uuid:p": "Patient/id0", "urn:oid:1.2.3": "Practitioner/dr"}
    # nothing links to the Observation: the store assigns its id when it writes it
    rewritten = rewrite_references(entries[2].resource, mapping)
    assert rewritten["subject"] == {"reference": "Patient/id0"}
    assert rewritten["performer"] == [
        {"reference": "Practitioner/dr"},
        {"reference": "Organization/x"},
    ]
    assert rewritten["extension"][0]["valueReference"]["reference"] == "Patient/id0"
    assert rewritten["contained"][0]["target"][0]["reference"] == "Patient/id0"
    assert entries[2].resource is not None
    assert entries[2].resource["subject"] == {"reference": "urn:uuid:p"}  # input untouched


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"subject": {"reference": "Patient?identifier=a|1"}}, {"Patient?identifier=a|1"}),
        ({"x": [{"y": {"reference": "Patient?_id=1"}}]}, {"Patient?_id=1"}),
        ({"subject": {"reference": "Patient/1"}}, set()),
        ({"subject": {"reference": "urn:uuid:1?x"}}, set()),
        ({"subject": {"reference": "http://h/Patient?x=1"}}, set()),
    ],
)
def test_conditional_references(resource: dict[str, Any], expected: set[str]) -> None:
    assert conditional_references(resource) == expected


def test_narrative_links_are_rewritten_too() -> None:
    div = (
        '<div xmlns="http://www.w3.org/1999/xhtml"><a href="urn:uuid:p">An</a>'
        "<img src='urn:uuid:p'/><a href=\"urn:uuid:other\">x</a> urn:uuid:p</div>"
    )
    rewritten = rewrite_references({"text": {"div": div}}, {"urn:uuid:p": "Patient/1"})
    assert rewritten["text"]["div"] == (
        '<div xmlns="http://www.w3.org/1999/xhtml"><a href="Patient/1">An</a>'
        "<img src='Patient/1'/><a href=\"urn:uuid:other\">x</a> urn:uuid:p</div>"
    )


def test_only_linked_posts_get_ids_in_advance() -> None:
    div = '<div xmlns="http://www.w3.org/1999/xhtml"><a href="urn:uuid:n">n</a></div>'
    bundle = transaction(
        entry("POST", "Patient", "urn:uuid:referenced", resourceType="Patient"),
        entry("POST", "Patient", "urn:uuid:narrated", resourceType="Patient"),
        entry("POST", "Patient", "urn:uuid:alone", resourceType="Patient"),
        entry("POST", "Patient", "urn:uuid:n", resourceType="Patient"),
        entry(
            "POST",
            "Observation",
            None,
            resourceType="Observation",
            subject={"reference": "urn:uuid:referenced"},
            text={"status": "generated", "div": div.replace("urn:uuid:n", "urn:uuid:narrated")},
        ),
    )
    _, entries = read_entries(bundle)
    assert set(assign_identities(entries)) == {"urn:uuid:referenced", "urn:uuid:narrated"}


def _links_plainly(value: object) -> set[str]:
    if isinstance(value, list):
        return {link for item in value for link in _links_plainly(item)}
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, item in value.items():
        if key == "reference" and isinstance(item, str):
            found.add(item)
        elif key == "div" and isinstance(item, str):
            found.update(m.group(3) for m in _NARRATIVE_LINK.finditer(item))
        else:
            found |= _links_plainly(item)
    return found


def test_link_walks_match_the_plain_recursion_on_the_synthetic_population() -> None:
    checked = 0
    for resource in iter_resources(6, 11):
        found: set[str] = set()
        _collect_links(resource, found)
        assert found == _links_plainly(resource)
        mapping = {link: f"Rewritten/{n}" for n, link in enumerate(sorted(found))}
        rewritten = rewrite_references(resource, mapping)
        again: set[str] = set()
        _collect_links(rewritten, again)
        assert again == set(mapping.values())
        assert rewrite_references(resource, {}) == resource
        checked += bool(found)
    assert checked > 50
