"""The auditor's existence probes (issue 6, findings 6-9) as tests, both databases.

Criteria over another type (``_has``, chains) consider only what the caller may see, or are
refused by name; conditional criteria consider only what the caller may see; writes by id of
what the caller may not see answer exactly as for an id that does not exist; practitioners
cannot write Consents; every audited interaction names the patients it concerned.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.fhir_client import FhirClient
from tests.api.secured_app import secured_client
from tests.api.test_practitioner_access import _consent
from yteso.auth import SecurityServices, patients_named

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITAL = f"{CATEGORY}|vital-signs"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
FACILITY = "Organization/tram"
DOCTOR = "Practitioner/dr-an"
BOB_HIV, BOB_NONE = "code=HIV-1&subject=Patient/bob", "code=NONE&subject=Patient/bob"


def _patient(id: str) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "id": id,
        "name": [{"family": f"Nguyen-{id}"}],
        "managingOrganization": {"reference": FACILITY},
    }


def _obs(id: str, patient: str, category: str, code: str, label: str | None = None) -> dict:  # type: ignore[type-arg]
    resource: dict[str, object] = {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": "urn:test", "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
    }
    if label:
        resource["meta"] = {"security": [{"system": CONFIDENTIALITY, "code": label}]}
    return resource


SEED: list[dict[str, object]] = [
    {"resourceType": "Organization", "id": "tram", "name": "Tram y te"},
    _patient("alice"),
    _patient("bob"),
    _obs("alice-bp", "alice", "vital-signs", "BP"),
    _obs("alice-hiv", "alice", "laboratory", "HIV-1"),
    _obs("bob-hiv", "bob", "laboratory", "HIV-1", label="R"),
    {
        "resourceType": "DiagnosticReport",
        "id": "alice-report",
        "status": "final",
        "code": {"text": "panel"},
        "subject": {"reference": "Patient/alice"},
        "result": [{"reference": "Observation/alice-hiv"}],
    },
]


class Api:
    def __init__(self, client: FhirClient, security: SecurityServices) -> None:
        self.client = client
        self.security = security

    def patient_token(self, scope: str, patient: str = "alice") -> str:
        return self.security.tokens.issue(f"citizen-{patient}", scope, patient=patient)

    def doctor_token(self, scope: str = "user/*.cruds") -> str:
        return self.security.tokens.issue(
            "dr-an", scope, fhir_user=DOCTOR, facility="tram", role="practitioner"
        )

    def call(
        self,
        method: str,
        url: str,
        token: str,
        body: object = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict]:  # type: ignore[type-arg]
        sent = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        response = self.client.request(method, url, headers=sent | (headers or {}), json=body)
        return response.status_code, response.json() if response.content else {}

    def ids(self, url: str, token: str) -> list[str]:
        status, bundle = self.call("GET", url, token)
        assert status == 200, bundle
        return sorted(
            f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in bundle.get("entry", [])
            if e["search"]["mode"] == "match"
        )

    def exists(self, path: str) -> bool:
        return (
            self.call("GET", f"/fhir/{path}", self.security.tokens.issue("x", "system/*.rs"))[0]
            == 200
        )


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[Api]:
    with secured_client(store_url, SEED, tmp_path / "auth", state_in_store=True) as secured:
        yield Api(*secured)


def _refused_naming(status: int, outcome: dict, name: str) -> bool:  # type: ignore[type-arg]
    issue = outcome["issue"][0]
    return status == 403 and name in issue.get("expression", []) and name in issue["diagnostics"]


# --- finding 9: criteria over another type ------------------------------------------------


def test_has_with_a_scope_filter_does_not_see_hidden_lab_results(api: Api) -> None:
    vital = api.patient_token(f"patient/Patient.rs patient/Observation.rs?category={VITAL}")
    assert api.ids("/fhir/Patient?_has:Observation:subject:code=HIV-1", vital) == []
    assert api.ids("/fhir/Patient?_has:Observation:subject:code=BP", vital) == ["Patient/alice"]


def test_chain_with_a_scope_filter_does_not_see_hidden_lab_results(api: Api) -> None:
    scope = f"patient/DiagnosticReport.rs patient/Observation.rs?category={VITAL}"
    token = api.patient_token(scope)
    assert api.ids("/fhir/DiagnosticReport?result.code=HIV-1", token) == []
    everything = api.patient_token("patient/DiagnosticReport.rs patient/Observation.rs")
    found = api.ids("/fhir/DiagnosticReport?result.code=HIV-1", everything)
    assert found == ["DiagnosticReport/alice-report"]


def test_patient_has_over_the_own_compartment_works(api: Api) -> None:
    token = api.patient_token("patient/*.rs")
    assert api.ids("/fhir/Patient?_has:Observation:subject:code=HIV-1", token) == ["Patient/alice"]
    assert api.ids("/fhir/Patient?_has:Observation:subject:code=nothing", token) == []


def test_unrestricted_callers_keep_has_and_chains(api: Api) -> None:
    token = api.security.tokens.issue("ops", "system/*.rs")
    both = ["Patient/alice", "Patient/bob"]
    assert api.ids("/fhir/Patient?_has:Observation:subject:code=HIV-1", token) == both
    assert api.ids("/fhir/Observation?subject.name=Nguyen-bob", token) == ["Observation/bob-hiv"]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/fhir/Patient?_has:Observation:subject:code=HIV-1", "_has:Observation:subject:code"),
        ("/fhir/Observation?subject:Patient.name=Nguyen-bob", "subject:Patient.name"),
        ("/fhir?_type=Observation,Condition&subject.name=Nguyen-bob", "subject.name"),
    ],
)
def test_practitioner_criteria_over_consent_bound_types_are_refused(
    api: Api, url: str, name: str
) -> None:
    """A practitioner's reach over patients' data depends on Consents and labels evaluated
    per resource: not expressible as criteria, so refused by name (whatever the data)."""
    status, outcome = api.call("GET", url, api.doctor_token())
    assert _refused_naming(status, outcome, name), outcome


def test_has_over_a_type_the_scopes_do_not_search_is_refused(api: Api) -> None:
    token = api.patient_token("patient/Patient.rs")  # no Observation scope at all
    status, outcome = api.call("GET", "/fhir/Patient?_has:Observation:subject:code=HIV-1", token)
    assert _refused_naming(status, outcome, "_has:Observation:subject:code"), outcome


def test_list_membership_of_a_hidden_list_is_not_searchable(api: Api) -> None:
    system = api.security.tokens.issue("ops", "system/*.cruds")
    bobs_list = {
        "resourceType": "List",
        "id": "bob-list",
        "status": "current",
        "mode": "working",
        "subject": {"reference": "Patient/bob"},
        "entry": [{"item": {"reference": "Observation/alice-bp"}}],
    }
    assert api.call("PUT", "/fhir/List/bob-list", system, bobs_list)[0] == 201
    assert api.ids("/fhir/Observation?_list=bob-list", system) == ["Observation/alice-bp"]
    alice = api.patient_token("patient/Observation.rs patient/List.rs")
    assert api.ids("/fhir/Observation?_list=bob-list", alice) == []


def test_practitioner_chains_over_unbound_types_still_work(api: Api) -> None:
    token = api.doctor_token()
    found = api.ids("/fhir/Patient?organization.name=Tram", token)
    assert found == ["Patient/alice", "Patient/bob"]


def test_conditional_criteria_chains_are_limited_too(api: Api) -> None:
    """The report is visible, its HIV result is not: a chain in If-None-Exist that looked at
    the hidden result would hand the report back (200) and so tell the result's code."""
    scope = f"patient/DiagnosticReport.crs patient/Observation.rs?category={VITAL}"
    token = api.patient_token(scope)
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "panel"},
        "subject": {"reference": "Patient/alice"},
    }
    status, created = api.call(
        "POST", "/fhir/DiagnosticReport", token, report, {"If-None-Exist": "result.code=HIV-1"}
    )
    assert status == 201 and created["id"] != "alice-report", created
    unrestricted = api.security.tokens.issue("ops", "system/*.crs")
    status, found = api.call(
        "POST",
        "/fhir/DiagnosticReport",
        unrestricted,
        report,
        {"If-None-Exist": "result.code=HIV-1"},
    )
    assert status == 200 and found["id"] == "alice-report"


# --- finding 8: conditional criteria and writes by id -------------------------------------


def _uniform(a: tuple[int, dict], b: tuple[int, dict], hidden: str, absent: str) -> None:  # type: ignore[type-arg]
    assert a[0] == b[0], (a, b)
    text_a = str(a[1].get("issue", "")).replace(hidden, "X")
    text_b = str(b[1].get("issue", "")).replace(absent, "X")
    assert text_a == text_b


def _creates_despite_a_hidden_match(api: Api, token: str, new: dict[str, object]) -> None:
    """A conditional create whose criteria match only a resource the caller may not see
    creates, exactly as when nothing matches."""
    hidden = api.call("POST", "/fhir/Observation", token, new, {"If-None-Exist": BOB_HIV})
    absent = api.call("POST", "/fhir/Observation", token, new, {"If-None-Exist": BOB_NONE})
    assert hidden[0] == absent[0] == 201, (hidden, absent)


def test_if_none_exist_answers_alike_for_hidden_and_absent_matches(api: Api) -> None:
    token = api.patient_token("patient/Observation.cruds")
    _creates_despite_a_hidden_match(api, token, _obs("n", "alice", "laboratory", "X"))


def test_conditional_delete_answers_alike_and_leaves_hidden_resources(api: Api) -> None:
    token = api.patient_token("patient/Observation.cruds")
    hidden = api.call("DELETE", "/fhir/Observation?subject=Patient/bob&code=HIV-1", token)
    absent = api.call("DELETE", "/fhir/Observation?subject=Patient/bob&code=NONE", token)
    _uniform(hidden, absent, "HIV-1", "NONE")
    assert api.exists("Observation/bob-hiv")


def test_conditional_update_answers_alike_and_leaves_hidden_resources(api: Api) -> None:
    token = api.patient_token("patient/Observation.cruds")
    body = _obs("", "alice", "laboratory", "X")
    del body["id"]
    hidden = api.call("PUT", "/fhir/Observation?subject=Patient/bob&code=HIV-1", token, body)
    absent = api.call("PUT", "/fhir/Observation?subject=Patient/bob&code=NONE", token, body)
    assert hidden[0] == absent[0] == 201, (hidden, absent)
    system = api.security.tokens.issue("x", "system/*.rs")
    stored = api.call("GET", "/fhir/Observation/bob-hiv", system)[1]
    assert stored["subject"] == {"reference": "Patient/bob"} and stored["meta"]["versionId"] == "1"


def test_conditional_update_cannot_name_a_hidden_id(api: Api) -> None:
    token = api.patient_token("patient/Observation.cruds")
    body = _obs("bob-hiv", "alice", "laboratory", "X")
    hidden = api.call("PUT", "/fhir/Observation?code=NONE", token, body)
    absent = api.call("PUT", "/fhir/Observation?code=NONE", token, {**body, "id": "nope"})
    _uniform(hidden, absent, "bob-hiv", "nope")
    assert hidden[0] == 404
    assert api.exists("Observation/bob-hiv")


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
def test_writes_by_id_do_not_tell_hidden_from_absent(api: Api, method: str) -> None:
    token = api.patient_token("patient/Observation.cruds")

    def attempt(id: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        body: object = None
        headers: dict[str, str] = {}
        if method == "PUT":
            body = _obs(id, "alice", "laboratory", "X")
        if method == "PATCH":
            body = [{"op": "replace", "path": "/status", "value": "amended"}]
            headers = {"Content-Type": "application/json-patch+json"}
        return api.call(method, f"/fhir/Observation/{id}", token, body, headers)

    hidden, absent = attempt("bob-hiv"), attempt("nope")
    _uniform(hidden, absent, "bob-hiv", "nope")
    assert hidden[0] == 404
    assert api.exists("Observation/bob-hiv") and not api.exists("Observation/nope")


def test_practitioner_conditional_create_ignores_what_they_may_not_see(api: Api) -> None:
    _creates_despite_a_hidden_match(api, api.doctor_token(), _obs("n", "bob", "laboratory", "X"))


# --- finding 7: who may write a Consent ---------------------------------------------------


def _permit_r(patient: str) -> dict[str, object]:
    """A Consent (no id: it is POSTed) permitting the doctor the patient's restricted data."""
    consent = _consent("", patient, "permit", DOCTOR)
    del consent["id"]
    provision = consent["provision"]
    assert isinstance(provision, dict)
    provision["securityLabel"] = [{"system": CONFIDENTIALITY, "code": "R"}]
    return consent


def test_practitioner_cannot_grant_themselves_access(api: Api) -> None:
    token = api.doctor_token()
    assert api.call("GET", "/fhir/Observation/bob-hiv", token)[0] == 404
    status, outcome = api.call("POST", "/fhir/Consent", token, _permit_r("bob"))
    assert status == 403, outcome
    assert api.call("GET", "/fhir/Observation/bob-hiv", token)[0] == 404
    batch = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": _permit_r("bob"), "request": {"method": "POST", "url": "Consent"}}],
    }
    assert api.call("POST", "/fhir", token, batch)[0] == 403
    assert api.call("GET", "/fhir/Observation/bob-hiv", token)[0] == 404


def test_practitioner_cannot_remove_a_refusal(api: Api) -> None:
    system = api.security.tokens.issue("consent-service", "system/Consent.cruds")
    refusal = {**_permit_r("alice"), "id": "no-dr-an"}
    refusal["provision"] = {"type": "deny", "actor": refusal["provision"]["actor"]}  # type: ignore[index]
    assert api.call("PUT", "/fhir/Consent/no-dr-an", system, refusal)[0] == 201
    token = api.doctor_token()
    assert api.call("GET", "/fhir/Patient/alice", token)[0] == 404
    assert api.call("DELETE", "/fhir/Consent/no-dr-an", token)[0] == 403
    assert api.call("DELETE", "/fhir/Consent?patient=alice", token)[0] == 403
    assert api.exists("Consent/no-dr-an")


def test_patient_and_consent_service_write_consents(api: Api) -> None:
    alice = api.patient_token("patient/Consent.cruds patient/Observation.rs")
    assert api.call("POST", "/fhir/Consent", alice, _permit_r("alice"))[0] == 201
    assert api.call("POST", "/fhir/Consent", alice, _permit_r("bob"))[0] == 404
    service = api.security.tokens.issue("consent-service", "system/Consent.cruds")
    assert api.call("POST", "/fhir/Consent", service, _permit_r("bob"))[0] == 201
    assert api.call("GET", "/fhir/Observation/bob-hiv", api.doctor_token())[0] == 200


# --- finding 6: the patients an audited interaction concerned -----------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/fhir/Observation/alice-bp"),
        ("GET", "/fhir/Observation?subject=Patient/alice"),
        ("GET", "/fhir/Observation?patient=alice"),
        ("GET", "/fhir/Observation?subject:Patient=alice&code=BP"),
        ("GET", "/fhir/Patient?_id=alice"),
        ("GET", "/fhir/Patient/alice/Observation"),
        ("GET", "/fhir/Observation/alice-bp/_history"),
        ("DELETE", "/fhir/Observation/alice-bp"),
        ("GET", "/fhir/Observation/bob-hiv"),  # a refusal concerns bob too
    ],
)
def test_audit_names_the_patients_concerned(api: Api, method: str, url: str) -> None:
    api.call(method, url, api.doctor_token())
    concerned = patients_named(api.security.audit.events()[-1])
    assert concerned == ({"bob"} if "bob" in url else {"alice"}), concerned


def test_audit_names_the_patient_of_a_created_resource(api: Api) -> None:
    api.call("POST", "/fhir/Observation", api.doctor_token(), _obs("n", "bob", "vital-signs", "BP"))
    assert patients_named(api.security.audit.events()[-1]) == {"bob"}


def test_citizen_sees_a_practitioner_reading_their_observation(api: Api) -> None:
    api.call("GET", "/fhir/Observation/alice-bp", api.doctor_token())
    api.call("GET", "/fhir/Observation?subject=Patient/alice", api.doctor_token())
    alice = api.patient_token("patient/*.rs")
    seen = api.client.get("/auth/my-accesses", headers={"Authorization": f"Bearer {alice}"}).json()
    assert [(a["who"], a["interaction"]) for a in seen] == [
        ("dr-an", "read"),
        ("dr-an", "search-type"),
    ]


def _my_accesses(api: Api, patient: str) -> list[tuple[str, str]]:
    token = api.patient_token("patient/*.rs", patient)
    answer = api.client.get("/auth/my-accesses", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return [(a["who"], a["interaction"]) for a in answer.json()]


def test_citizen_sees_a_search_that_returned_their_data(api: Api) -> None:
    """The request names no patient: the audit names those whose resources it returned."""
    assert api.ids("/fhir/Observation?code=BP", api.doctor_token()) == ["Observation/alice-bp"]
    assert _my_accesses(api, "alice") == [("dr-an", "search-type")]
    assert _my_accesses(api, "bob") == []  # nothing of bob's went out


def test_citizen_sees_an_include_and_a_history_that_returned_their_data(api: Api) -> None:
    """bob's Observation goes out only as an include of a report in no patient's compartment,
    and in a type history."""
    system = api.security.tokens.issue("loader", "system/*.cruds")
    report = {"resourceType": "DiagnosticReport", "id": "mixed", "status": "final"}
    report |= {"code": {"text": "batch"}, "result": [{"reference": "Observation/bob-bp"}]}
    for resource in (_obs("bob-bp", "bob", "vital-signs", "BP"), report):
        path = f"/fhir/{resource['resourceType']}/{resource['id']}"
        assert api.call("PUT", path, system, resource)[0] == 201
    token = api.doctor_token()
    included = "/fhir/DiagnosticReport?_id=mixed&_include=DiagnosticReport:result"
    status, bundle = api.call("GET", included, token)
    modes = sorted((e["resource"]["id"], e["search"]["mode"]) for e in bundle.get("entry", []))
    assert status == 200 and modes == [("bob-bp", "include"), ("mixed", "match")], bundle
    assert patients_named(api.security.audit.events()[-1]) == {"bob"}
    assert _my_accesses(api, "bob") == [("loader", "update"), ("dr-an", "search-type")]
    assert _my_accesses(api, "alice") == []
    status, history = api.call("GET", "/fhir/Observation/_history", token)
    assert status == 200 and history["entry"], history
    assert patients_named(api.security.audit.events()[-1]) == {"alice", "bob"}


def test_a_count_only_search_names_no_patient(api: Api) -> None:
    status, bundle = api.call("GET", "/fhir/Observation?code=BP&_summary=count", api.doctor_token())
    assert status == 200 and "entry" not in bundle, bundle
    assert patients_named(api.security.audit.events()[-1]) == set()
    assert _my_accesses(api, "alice") == []
