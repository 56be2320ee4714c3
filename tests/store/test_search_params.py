"""Every search-parameter type and modifier, with exact expected id sets, on both backends.

One module-scoped store per backend holds the hand-made data set of ``search_fixtures`` (loaded
through the bulk path); the cases are a table. https://hl7.org/fhir/R4/search.html
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.conftest import module_store_url
from tests.store.search_fixtures import ETHNIC, ETHNIC_SEARCH_PARAMETER, search_resources
from yteso.fhir.errors import Invalid
from yteso.store import SearchParam, SearchQuery, SqlStore, open_store
from yteso.store.search_sql import plan_search

NOW = datetime(2024, 3, 11, tzinfo=UTC)
CODE_VALUE = "http://loinc.org|29463-7$gt60|http://unitsofmeasure.org|kg"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlStore]:
    with module_store_url(request, tmp_path_factory, "search") as url:
        opened = open_store(url)
        opened.bulk_write(search_resources())
        opened.clock = lambda: NOW  # ``ap`` widens by 10% of the distance to now
        yield opened
        opened.close()


def _params(pairs: tuple[tuple[str, str], ...]) -> tuple[SearchParam, ...]:
    out = []
    for raw, value in pairs:
        name, _, modifier = raw.partition(":")
        out.append(SearchParam(name, tuple(value.split(",")), modifier or None))
    return tuple(out)


def found(
    store: SqlStore, resource_type: str | None, *pairs: tuple[str, str], **kw: object
) -> list[str]:
    query = SearchQuery(params=_params(pairs), **kw)  # type: ignore[arg-type]
    return [m.id for m in store.search(resource_type, query).matches]


P, O = "Patient", "Observation"  # noqa: E741
WITHOUT_ACTIVE = {"org-hn", "org-hue", "pat-dang", "pat-nguyen2", "pat-tran"}
CASES: list[tuple[str | None, tuple[tuple[str, str], ...], set[str]]] = [
    # string: accent- and case-insensitive starts-with; :exact; :contains; OR; AND
    (P, (("name", "nguyen"),), {"pat-nguyen", "pat-nguyen2"}),
    (P, (("name", "NGUYỄN"),), {"pat-nguyen", "pat-nguyen2"}),
    (P, (("family", "dang"),), {"pat-dang"}),
    (P, (("name", "đặng"),), {"pat-dang"}),
    (P, (("given", "hung"),), {"pat-tran"}),
    (P, (("given", "dao"),), {"pat-tran"}),
    (P, (("name:exact", "Nguyen"),), {"pat-nguyen2"}),
    (P, (("name:exact", "Nguyễn"),), {"pat-nguyen"}),
    (P, (("name:exact", "nguyen"),), set()),
    (P, (("name:contains", "guy"),), {"pat-nguyen", "pat-nguyen2"}),
    (P, (("name:contains", "bic"),), {"pat-dang"}),
    (P, (("address-city", "ha noi"),), {"pat-nguyen"}),
    (P, (("name", "nguyen,dang"),), {"pat-nguyen", "pat-nguyen2", "pat-dang"}),
    (P, (("name", "nguyen"), ("given", "minh")), {"pat-nguyen2"}),
    (P, (("name", "xyz"),), set()),
    # token: system|code, code, system|, |code, :not, :text, :of-type, booleans
    (P, (("gender", "male"),), {"pat-nguyen", "pat-nguyen2"}),
    (P, (("identifier", "http://fhir.hl7.org.vn/core/sid/cccd|001080000001"),), {"pat-nguyen"}),
    (P, (("identifier", "001192000002"),), {"pat-dang"}),
    (P, (("identifier", "http://fhir.hl7.org.vn/core/sid/cccd|"),), {"pat-nguyen", "pat-dang"}),
    (P, (("identifier", "|001080000001"),), set()),
    (P, (("identifier", "http://other|001080000001"),), set()),
    (P, (("gender:not", "male"),), {"pat-dang", "pat-tran"}),
    (P, (("active", "true"),), {"pat-nguyen"}),
    (P, (("active", "false"),), {"pat-dang"}),
    (P, (("phone", "0912345678"),), {"pat-nguyen"}),
    (
        P,
        (("identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|NI|001080000001"),),
        {"pat-nguyen"},
    ),
    (O, (("code", "http://loinc.org|29463-7"),), {"obs-2", "obs-3"}),
    (O, (("code", "8867-4,2345-7"),), {"obs-1", "obs-4"}),
    (O, (("code", "8867-4,http://loinc.org|2345-7"),), {"obs-1", "obs-4"}),
    (O, (("code:text", "body"),), {"obs-2", "obs-3"}),
    (O, (("code:text", "ghi chu"),), {"obs-5"}),
    (O, (("status", "final"),), {"obs-1", "obs-2", "obs-4"}),
    (O, (("status:not", "final"),), {"obs-3", "obs-5"}),
    # :missing on several types
    (P, (("organization:missing", "true"),), {"pat-nguyen2"}),
    (P, (("organization:missing", "false"),), {"pat-nguyen", "pat-dang", "pat-tran"}),
    (P, (("death-date:missing", "false"),), {"pat-tran"}),
    (O, (("value-quantity:missing", "true"),), {"obs-5"}),
    (P, (("name:missing", "true"),), set()),
    # date: partial precision ranges and every prefix
    (P, (("birthdate", "1980"),), {"pat-nguyen"}),
    (P, (("birthdate", "1980-05-12"),), {"pat-nguyen"}),
    (P, (("birthdate", "1980-05-13"),), set()),
    (P, (("birthdate", "1992-11"),), {"pat-dang"}),
    (P, (("birthdate", "1992"),), {"pat-dang"}),
    (P, (("birthdate", "1992-11-05"),), set()),
    (P, (("birthdate", "ge2001"),), {"pat-nguyen2"}),
    (P, (("birthdate", "lt1980"),), {"pat-tran"}),
    (P, (("birthdate", "le1980-05-12"),), {"pat-tran", "pat-nguyen"}),
    (P, (("birthdate", "gt1992"),), {"pat-nguyen2"}),
    (P, (("birthdate", "ne1980"),), {"pat-dang", "pat-nguyen2", "pat-tran"}),
    (P, (("birthdate", "sa1990"),), {"pat-dang", "pat-nguyen2"}),
    (P, (("birthdate", "eb1990"),), {"pat-nguyen", "pat-tran"}),
    (P, (("birthdate", "ge1980"), ("birthdate", "lt1993")), {"pat-nguyen", "pat-dang"}),
    (P, (("death-date", "2024-03-01"),), {"pat-tran"}),
    (P, (("death-date", "2024-03-01T03:00:00Z"),), {"pat-tran"}),
    (O, (("date", "2024-03-10"),), {"obs-1"}),
    (O, (("date", "2024-03"),), {"obs-1", "obs-2"}),
    (O, (("date", "2024-03-03"),), set()),  # the Period is longer than the day
    (O, (("date", "ge2024-04"),), {"obs-3"}),
    (O, (("date", "lt2024-01-01"),), {"obs-4"}),
    (O, (("date", "2023-12-31"),), {"obs-4"}),
    (O, (("date", "ap2024-03-10"),), {"obs-1"}),
    (O, (("date", "ap2024-03-06"),), {"obs-2"}),
    # a ge/lt pair of one parameter: one range on the same index row
    (O, (("date", "ge2024-03-02"), ("date", "lt2024-03-06")), {"obs-2"}),
    (O, (("date", "lt2024-04-15"), ("date", "ge2024-03-10")), {"obs-1", "obs-3"}),
    (O, (("date", "gt2024-03-10"), ("date", "le2024-04")), {"obs-3"}),
    # number: implicit precision and prefixes
    ("RiskAssessment", (("probability", "0.25"),), {"ra-1"}),
    ("RiskAssessment", (("probability", "gt0.5"),), {"ra-2", "ra-3"}),
    ("RiskAssessment", (("probability", "100"),), {"ra-3"}),
    ("RiskAssessment", (("probability", "le0.8"),), {"ra-1", "ra-2"}),
    ("RiskAssessment", (("probability", "ap0.8"),), {"ra-2"}),
    ("RiskAssessment", (("probability", "0.2"),), set()),  # 0.2 means [0.15, 0.25)
    # quantity: value, system|code, UCUM canonical units
    (O, (("value-quantity", "72"),), {"obs-1"}),
    (O, (("value-quantity", "72|http://unitsofmeasure.org|/min"),), {"obs-1"}),
    (O, (("value-quantity", "gt60|http://unitsofmeasure.org|kg"),), {"obs-2"}),
    (O, (("value-quantity", "gt50|http://unitsofmeasure.org|kg"),), {"obs-2", "obs-3"}),
    (O, (("value-quantity", "55000||g"),), {"obs-3"}),
    (O, (("value-quantity", "55|http://unitsofmeasure.org|kg"),), {"obs-3"}),
    (O, (("value-quantity", "70500|http://unitsofmeasure.org|g"),), {"obs-2"}),
    (O, (("value-quantity", "5.5|http://unitsofmeasure.org|mmol/L"),), {"obs-4"}),
    (O, (("value-quantity", "lt10"),), {"obs-4"}),
    # reference: Type/id, id, :Type, resolve()-filtered parameters
    (O, (("subject", "Patient/pat-nguyen"),), {"obs-1", "obs-2"}),
    (O, (("subject", "pat-dang"),), {"obs-3", "obs-5"}),
    (O, (("subject:Patient", "pat-dang"),), {"obs-3", "obs-5"}),
    (O, (("patient", "pat-tran"),), {"obs-4"}),
    (O, (("performer", "Practitioner/prac-1"),), {"obs-1"}),
    (P, (("organization", "Organization/org-hue"),), {"pat-dang", "pat-tran"}),
    # chains to any depth
    (O, (("subject:Patient.name", "dang"),), {"obs-3", "obs-5"}),
    (O, (("subject.name", "nguyen"),), {"obs-1", "obs-2"}),
    (O, (("subject:Patient.organization.name", "benh vien trung"),), {"obs-3", "obs-4", "obs-5"}),
    (O, (("patient.birthdate", "lt1980"),), {"obs-4"}),
    (O, (("patient.gender:not", "male"),), {"obs-3", "obs-4", "obs-5"}),
    # _has, nested
    (P, (("_has:Observation:patient:code", "29463-7"),), {"pat-nguyen", "pat-dang"}),
    (P, (("_has:Observation:subject:value-quantity", "gt100"),), {"pat-dang"}),
    (
        "Organization",
        (("_has:Patient:organization:_has:Observation:patient:code", "2345-7"),),
        {"org-hue"},
    ),
    # composite (code$value)
    (O, (("code-value-quantity", CODE_VALUE),), {"obs-2"}),
    # uri
    ("ValueSet", (("url", "http://example.org/fhir/ValueSet/abc"),), {"vs-1"}),
    ("ValueSet", (("url:below", "http://example.org/fhir/ValueSet/abc"),), {"vs-1", "vs-2"}),
    ("ValueSet", (("url:above", "http://example.org/fhir/ValueSet/abc/sub/x"),), {"vs-1", "vs-2"}),
    # _text / _content (accent-insensitive), _tag, _id with others, system level
    (P, (("_content", "thi bich"),), {"pat-dang"}),
    (O, (("_content", "kham suc khoe"),), {"obs-5"}),
    (O, (("_tag", "urgent"),), {"obs-1"}),
    (None, (("_tag", "http://example.org/tags|urgent"),), {"obs-1"}),
    (P, (("_id", "pat-dang,pat-tran"), ("gender", "female")), {"pat-dang", "pat-tran"}),
    (
        None,
        (("_type", "Organization,ValueSet"), ("_id", "org-hn,vs-3,pat-dang")),
        {"org-hn", "vs-3"},
    ),
    # patient compartment (what /Patient/ID/Type searches)
    (O, (("_compartment", "Patient/pat-dang"),), {"obs-3", "obs-5"}),
    (O, (("_compartment", "Patient/pat-dang"), ("status", "amended")), {"obs-5"}),
    (P, (("_compartment", "Patient/pat-dang"),), {"pat-dang"}),
    ("RiskAssessment", (("_compartment", "Patient/pat-nguyen"),), {"ra-1", "ra-2", "ra-3"}),
    # _type with several types: parameters common to all of them, compiled per type
    (None, (("_type", "Patient,Practitioner"), ("name", "le")), {"prac-1"}),
    (None, (("_type", "Patient,Practitioner"), ("name", "nguyen")), {"pat-nguyen", "pat-nguyen2"}),
    (None, (("_type", "Patient,Organization"), ("name", "benh")), {"org-hn", "org-hue"}),
    (None, (("_type", "Patient,Practitioner"), ("family", "le,tran")), {"prac-1", "pat-tran"}),
    (None, (("_type", "Patient,Practitioner"), ("name:missing", "true")), set()),
    (None, (("_type", "Patient,Organization"), ("active:not", "true")), WITHOUT_ACTIVE),
    (None, (("_type", "Patient,Organization"), ("_id", "org-hn,pat-dang")), {"org-hn", "pat-dang"}),
    (
        None,
        (("_type", "Patient,Organization"), ("_has:Observation:patient:code", "2345-7")),
        {"pat-tran"},
    ),
    (
        None,
        (("_type", "Observation,RiskAssessment"), ("subject", "Patient/pat-nguyen")),
        {"obs-1", "obs-2", "ra-1", "ra-2", "ra-3"},
    ),
]


@pytest.mark.parametrize(("resource_type", "pairs", "expected"), CASES)
def test_search_finds_exactly(
    store: SqlStore,
    resource_type: str | None,
    pairs: tuple[tuple[str, str], ...],
    expected: set[str],
) -> None:
    ids = found(store, resource_type, *pairs, count=100)
    assert sorted(ids) == sorted(expected)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("resource_type", "sort", "expected"),
    [
        (P, ("birthdate",), ["pat-tran", "pat-nguyen", "pat-dang", "pat-nguyen2"]),
        (P, ("-birthdate",), ["pat-nguyen2", "pat-dang", "pat-nguyen", "pat-tran"]),
        (P, ("family", "given"), ["pat-dang", "pat-nguyen", "pat-nguyen2", "pat-tran"]),
        (P, ("gender", "-birthdate"), ["pat-dang", "pat-tran", "pat-nguyen2", "pat-nguyen"]),
        (O, ("value-quantity",), ["obs-5", "obs-4", "obs-2", "obs-1", "obs-3"]),
        (O, ("-value-quantity",), ["obs-3", "obs-1", "obs-2", "obs-4", "obs-5"]),
        (O, ("-date", "_id"), ["obs-3", "obs-1", "obs-2", "obs-4", "obs-5"]),
        (O, ("subject", "-_id"), ["obs-5", "obs-3", "obs-2", "obs-1", "obs-4"]),
    ],
)
def test_sort_and_pages_follow_the_same_order(
    store: SqlStore, resource_type: str, sort: tuple[str, ...], expected: list[str]
) -> None:
    assert found(store, resource_type, sort=sort) == expected
    paged, cursor = [], None
    for _ in range(10):
        result = store.search(resource_type, SearchQuery(sort=sort, count=2, cursor=cursor))
        paged += [m.id for m in result.matches]
        cursor = result.next_cursor
        if cursor is None:
            break
    assert paged == expected
    back = store.search(
        resource_type, SearchQuery(sort=sort, count=2, cursor=result.previous_cursor)
    )
    assert [m.id for m in back.matches] == expected[len(expected) - len(result.matches) - 2 :][:2]


@pytest.mark.parametrize(
    ("resource_type", "pairs", "matches", "included"),
    [
        (O, (("code", "8867-4"), ("_include", "Observation:subject")), ["obs-1"], {"pat-nguyen"}),
        (
            O,
            (("code", "8867-4"), ("_include", "Observation:*")),
            ["obs-1"],
            {"pat-nguyen", "prac-1"},
        ),
        (
            O,
            (("code", "8867-4"), ("_include", "Observation:subject:Practitioner")),
            ["obs-1"],
            set(),
        ),
        (
            P,
            (("_id", "pat-dang"), ("_revinclude", "Observation:subject")),
            ["pat-dang"],
            {"obs-3", "obs-5"},
        ),
        (
            O,
            (
                ("_id", "obs-3"),
                ("_include", "Observation:subject"),
                ("_include:iterate", "Patient:organization"),
            ),
            ["obs-3"],
            {"pat-dang", "org-hue"},
        ),
        (
            "Organization",
            (
                ("_id", "org-hue"),
                ("_revinclude", "Patient:organization"),
                ("_revinclude:iterate", "Observation:subject"),
            ),
            ["org-hue"],
            {"pat-dang", "pat-tran", "obs-3", "obs-4", "obs-5"},
        ),
        (
            P,
            (
                ("_id", "pat-dang"),
                ("_revinclude", "Observation:patient"),
                ("_revinclude", "Observation:subject"),
            ),
            ["pat-dang"],
            {"obs-3", "obs-5"},
        ),
    ],
)
def test_include_and_revinclude(
    store: SqlStore,
    resource_type: str,
    pairs: tuple[tuple[str, str], ...],
    matches: list[str],
    included: set[str],
) -> None:
    result = store.search(resource_type, SearchQuery(params=_params(pairs)))
    assert [m.id for m in result.matches] == matches
    assert sorted(m.id for m in result.included) == sorted(included)


@pytest.mark.parametrize(
    ("resource_type", "pairs", "named"),
    [
        (P, (("birthdate", "not-a-date"),), "birthdate"),
        (P, (("birthdate", "2020-13"),), "birthdate"),
        (O, (("value-quantity", "abc"),), "value-quantity"),
        (O, (("value-quantity", "1|2"),), "value-quantity"),
        ("RiskAssessment", (("probability", "zz"),), "probability"),
        (P, (("name:bogus", "x"),), "name"),
        (P, (("gender:missing", "maybe"),), "gender"),
        (P, (("organization.nope", "x"),), "organization"),
        (P, (("name.family", "x"),), "name"),
        (P, (("_has:Observation:nope:code", "x"),), "_has"),
        (O, (("code-value-quantity", "only-one-part"),), "code-value-quantity"),
        (O, (("_include", "Observation"),), "_include"),
        ("Organization", (("_compartment", "Patient/pat-dang"),), "_compartment"),
        (None, (("_type", "Patient,Observation"), ("name", "x")), "name"),  # not on Observation
    ],
)
def test_malformed_values_name_the_parameter(
    store: SqlStore, resource_type: str, pairs: tuple[tuple[str, str], ...], named: str
) -> None:
    with pytest.raises(Invalid) as caught:
        found(store, resource_type, *pairs)
    assert named in (caught.value.issues[0].expression or "") or named in str(caught.value)


def test_several_types_page_stably_in_write_order(store: SqlStore) -> None:
    types = SearchParam("_type", ("Patient", "Organization", "Practitioner"))
    everything = store.search(None, SearchQuery(params=(types,), count=100)).matches
    expected = [m.id for m in everything]
    written = ["org-hn", "org-hue", "prac-1", "pat-nguyen", "pat-dang", "pat-nguyen2", "pat-tran"]
    assert expected == written  # write order, whatever the type
    paged, cursor = [], None
    for _ in range(10):
        query = SearchQuery(params=(types,), count=2, cursor=cursor, total="accurate")
        result = store.search(None, query)
        assert result.total == 7
        paged += [m.id for m in result.matches]
        cursor = result.next_cursor
        if cursor is None:
            break
    assert paged == expected


def test_total_counts_with_the_filters(store: SqlStore) -> None:
    query = SearchQuery(params=_params((("name", "nguyen"),)), count=1, total="accurate")
    result = store.search(P, query)
    assert result.total == 2 and len(result.matches) == 1


def test_indexes_follow_updates_and_deletes(store_url: str) -> None:
    opened = open_store(store_url)
    try:
        with opened.session() as session:
            for resource in search_resources():
                session.update(resource)
        assert sorted(found(opened, P, ("name", "nguyen"))) == ["pat-nguyen", "pat-nguyen2"]
        with opened.session() as session:
            patient = opened.read(P, "pat-nguyen2").resource()
            session.update({**patient, "name": [{"family": "Phạm", "given": ["Minh"]}]})
            session.delete(O, "obs-1")
        assert found(opened, P, ("name", "nguyen")) == ["pat-nguyen"]
        assert found(opened, P, ("name", "pham")) == ["pat-nguyen2"]
        assert found(opened, O, ("code", "8867-4")) == []
        assert sorted(found(opened, O, ("subject", "pat-nguyen"))) == ["obs-2"]
        opened.bulk_write([{**opened.read(O, "obs-2").resource(), "status": "cancelled"}])
        assert found(opened, O, ("status", "cancelled")) == ["obs-2"]
        assert found(opened, O, ("status", "final")) == ["obs-4"]
    finally:
        opened.close()


def test_text_index_follows_writes_and_keeps_like_semantics(store_url: str) -> None:
    """_content through the trigram index (FTS5 / pg_trgm) equals a contains test on the
    folded text: after updates and deletes, for short texts, and for LIKE wildcards."""
    opened = open_store(store_url)
    note = {"resourceType": "Basic", "id": "b1", "code": {"text": "Ghi chú 50%_x đặc biệt"}}
    try:
        with opened.session() as session:
            session.update(note)
            session.update({**note, "id": "b2", "code": {"text": "500 x khác"}})
        assert found(opened, "Basic", ("_content", "DAC BIET")) == ["b1"]
        assert found(opened, "Basic", ("_content", "50%_x")) == ["b1"]
        assert found(opened, "Basic", ("_content", "0%")) == ["b1"]  # shorter than a trigram
        assert sorted(found(opened, "Basic", ("_content", "50"))) == ["b1", "b2"]
        assert found(opened, "Basic", ("_content", "50_x")) == []  # _ is no wildcard
        with opened.session() as session:
            session.update({**note, "code": {"text": "đã sửa"}})
            session.delete("Basic", "b2")
        assert found(opened, "Basic", ("_content", "dac biet")) == []
        assert found(opened, "Basic", ("_content", "da sua")) == ["b1"]
        assert found(opened, "Basic", ("_content", "khac")) == []
    finally:
        opened.close()


def _narrated(id: str, text: str) -> dict[str, object]:
    div = f'<div xmlns="http://www.w3.org/1999/xhtml">{text}</div>'
    return {
        "resourceType": "Basic",
        "id": id,
        "code": {"text": "x"},
        "text": {"status": "generated", "div": div},
    }


def test_text_search_on_the_narrative_index_follows_writes(store_url: str) -> None:
    """_text (the narrative; SQLite: the FTS5 trigram index) equals a contains test on the
    folded narrative after updates and deletes, for short texts and LIKE wildcards."""
    opened = open_store(store_url)
    try:
        with opened.session() as session:
            session.update(_narrated("n1", "Bệnh nhân sốt cao 39%_x, ho"))
            session.update(_narrated("n2", "Tái khám sau 3 ngày"))
        assert found(opened, "Basic", ("_text", "SOT CAO")) == ["n1"]
        assert found(opened, "Basic", ("_text", "39%_x")) == ["n1"]
        assert found(opened, "Basic", ("_text", "39_x")) == []  # _ is no wildcard
        assert sorted(found(opened, "Basic", ("_text", "ha"))) == ["n1", "n2"]  # 2 characters
        assert found(opened, "Basic", ("_text", "tai kham")) == ["n2"]
        with opened.session() as session:
            session.update(_narrated("n1", "Đã hạ sốt"))
            session.delete("Basic", "n2")
        assert found(opened, "Basic", ("_text", "sot cao")) == []
        assert found(opened, "Basic", ("_text", "da ha sot")) == ["n1"]
        assert found(opened, "Basic", ("_text", "tai kham")) == []
    finally:
        opened.close()


@pytest.mark.parametrize(
    ("hashed_set", "shape"),
    [
        (1, "EXISTS (SELECT 1 FROM search_token s WHERE s.id = c.id"),
        (10**9, "(c.id IN (SELECT s.id FROM search_token s WHERE"),
    ],
)
def test_large_filters_are_probed_per_row_with_the_same_results(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, hashed_set: int, shape: str
) -> None:
    """With the "large set" threshold at 1 every plain filter is probed per candidate row:
    an EXISTS probe (a set at the hashed bound, or any on SQLite) or a hashed membership test
    (below it, PostgreSQL); the same matches, in the same order, page by page, with the same
    totals."""
    import yteso.store.search_filters as search_filters

    cases = [
        (O, (("code", "8867-4,29463-7,2345-7"),), ()),
        (O, (("status", "final"), ("subject", "Patient/pat-nguyen")), ("-date",)),
        (P, (("_compartment", "Patient/pat-dang"),), ()),
        (O, (("subject:Patient.name", "dang"),), ("_id",)),
        (P, (("gender:not", "male"), ("name", "dang")), ()),
    ]
    expected = []
    for resource_type, pairs, sort in cases:
        query = SearchQuery(params=_params(pairs), sort=sort, count=1, total="accurate")
        expected.append(_every_page(store, resource_type, query))
    monkeypatch.setattr(search_filters, "LARGE_SET", 1)
    monkeypatch.setattr(search_filters, "HASHED_SET", hashed_set)
    for (resource_type, pairs, sort), before in zip(cases, expected, strict=True):
        query = SearchQuery(params=_params(pairs), sort=sort, count=1, total="accurate")
        assert _every_page(store, resource_type, query) == before
        assert before[0]  # not trivially empty
    plan = plan_search(
        store.backend.dialect,
        O,
        SearchQuery(params=_params((("status", "final"),))),
        NOW,
        lambda s: 1,
    )
    per_row = "EXISTS (SELECT 1 FROM search_token s WHERE s.id = c.id"
    assert (shape if store.dialect == "postgresql" else per_row) in plan.page.sql  # SQLite: no hash


HAS_PROBES = [
    (P, (("_has:Observation:patient:code", "29463-7"),), {"pat-nguyen", "pat-dang"}),
    (P, (("_has:Observation:subject:value-quantity", "gt100"),), {"pat-dang"}),
    (P, (("_has:Observation:patient:code", "29463-7"), ("name", "dang")), {"pat-dang"}),
    (P, (("_has:Observation:patient:code", "nope"),), set()),
    (
        "Organization",
        (("_has:Patient:organization:_has:Observation:patient:code", "2345-7"),),
        {"org-hue"},
    ),
    (P, (("_has:Observation:patient:subject:Patient.name", "dang"),), {"pat-dang"}),
]


@pytest.mark.parametrize("hashed_set", [1, 10**9])
@pytest.mark.parametrize(("resource_type", "pairs", "expected"), HAS_PROBES)
def test_large_has_is_probed_per_row(
    store: SqlStore,
    monkeypatch: pytest.MonkeyPatch,
    resource_type: str,
    pairs: tuple[tuple[str, str], ...],
    expected: set[str],
    hashed_set: int,
) -> None:
    """``_has`` over a large set becomes a probe per candidate row (``EXISTS`` on the
    reference's target; the referencing row's filter probed too, or a hashed membership
    test below the hashed bound): the same exact ids."""
    import yteso.store.search_filters as search_filters

    monkeypatch.setattr(search_filters, "LARGE_SET", 1)
    monkeypatch.setattr(search_filters, "HASHED_SET", hashed_set)
    query = SearchQuery(params=_params(pairs), count=1, total="accurate")
    ids, total = _every_page(store, resource_type, query)
    assert (sorted(ids), total) == (sorted(expected), len(expected))
    plan = plan_search(
        store.backend.dialect, resource_type, SearchQuery(params=_params(pairs)), NOW, lambda s: 1
    )
    per_row = "EXISTS (SELECT 1 FROM search_reference r WHERE r.target_id = c.id"
    if hashed_set == 1 or store.dialect == "sqlite":  # SQLite probes per row at any size
        assert per_row in plan.page.sql and "(r.id IN (SELECT" not in plan.page.sql
        return
    # below the hashed bound: the referencing rows' own filter is the hash; a nested _has
    # (its inner filter is no plain set) is one hashed set of targets
    hashed_inner = per_row in plan.page.sql and "(r.id IN (SELECT s.id FROM" in plan.page.sql
    hashed_targets = "(c.id IN (SELECT r.target_id FROM search_reference r WHERE" in plan.page.sql
    assert hashed_inner or hashed_targets


def _every_page(
    store: SqlStore, resource_type: str, query: SearchQuery
) -> tuple[list[str], int | None]:
    result = store.search(resource_type, query)
    ids, total = [m.id for m in result.matches], result.total
    while result.next_cursor is not None:
        result = store.search(
            resource_type,
            SearchQuery(query.params, sort=query.sort, count=1, cursor=result.next_cursor),
        )
        ids += [m.id for m in result.matches]
    return ids, total


def test_reindex_rebuilds_emptied_indexes(store_url: str) -> None:
    from yteso.store.index_tables import INDEX_COLUMNS
    from yteso.store.reindex import reindex

    opened = open_store(store_url)
    try:
        opened.bulk_write(search_resources())
        with opened.backend.writing() as db:
            for table in INDEX_COLUMNS:
                db.run(f"DELETE FROM search_{table}")  # as after migrating an older database
        assert found(opened, P, ("name", "nguyen")) == []
        assert reindex(opened) == len(search_resources())
        assert sorted(found(opened, P, ("name", "nguyen"))) == ["pat-nguyen", "pat-nguyen2"]
        assert reindex(opened) == len(search_resources())  # idempotent: rows replaced
        assert sorted(found(opened, O, ("code", "29463-7"))) == ["obs-2", "obs-3"]
    finally:
        opened.close()


def test_custom_search_parameter_takes_effect_after_reindex(store_url: str) -> None:
    from yteso.store.custom_params import register
    from yteso.store.reindex import reindex

    ethnic = ETHNIC
    opened = open_store(store_url)
    try:
        kinh = {"url": ethnic, "valueCode": "kinh"}
        opened.bulk_write([{"resourceType": "Patient", "id": "p1", "extension": [kinh]}])
        with pytest.raises(Invalid):
            found(opened, P, ("ethnic", "kinh"))
        definition = ETHNIC_SEARCH_PARAMETER
        opened.bulk_write([definition])
        assert reindex(opened) == 2
        assert found(opened, P, ("ethnic", "kinh")) == ["p1"]
        assert found(opened, P, ("ethnic", "tay")) == []
        assert "ethnic" in opened.supported_search_params(P)
    finally:
        register([])  # custom parameters are per process: leave none behind
        opened.close()
