"""The FHIR API through the real auth path (tokens signed by the server's keys), both databases.

Negative cases first: no token, forged and foreign tokens, revoked tokens, a patient reaching
another patient by every route, scope narrowing, SQL injection attempts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.api.fhir_client import FhirClient
from tests.api.secured_app import CHEAP_ARGON2, secured_client
from tests.api.test_bulk_export import observation
from yteso.auth import ClientApp, SecurityServices, TokenService

VITAL = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"


def _patient(id: str) -> dict[str, object]:
    return {"resourceType": "Patient", "id": id, "name": [{"family": f"Nguyen-{id}"}]}


SEED = [
    _patient("alice"),
    _patient("bob"),
    observation("alice-bp", "alice", "vital-signs"),
    observation("alice-lab", "alice", "laboratory"),
    observation("bob-bp", "bob", "vital-signs"),
]


class Secured:
    def __init__(self, client: FhirClient, security: SecurityServices) -> None:
        self.client = client
        self.security = security

    def token(self, scope: str, patient: str | None = None, subject: str = "tester") -> str:
        return self.security.tokens.issue(subject, scope, patient=patient)

    def get(self, url: str, token: str | None) -> tuple[int, dict[str, object]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.get(url, headers=headers)
        return response.status_code, response.json() if response.content else {}

    def send(self, method: str, url: str, token: str, body: object) -> int:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        return self.client.request(method, url, headers=headers, json=body).status_code


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[Secured]:
    with secured_client(store_url, SEED, tmp_path / "auth", state_in_store=True) as secured:
        yield Secured(*secured)


def _ids(bundle: dict[str, object]) -> list[str]:
    entries = bundle.get("entry", [])
    assert isinstance(entries, list)
    return sorted(
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in entries
        if e["resource"]["resourceType"] != "OperationOutcome"
    )


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forged(api: Secured, kind: str, tmp_path: Path) -> str:
    good = api.token("system/*.rs")
    header, payload, _ = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "==="))
    if kind == "alg-none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    if kind == "unknown-kid":
        other = SecurityServices.open(tmp_path / "other", password_hasher=CHEAP_ARGON2)
        return other.tokens.issue("tester", "system/*.rs")
    if kind == "wrong-audience":
        foreign = TokenService(
            api.security.keys, api.security.tokens.revocations, "urn:yteso:auth", "urn:elsewhere"
        )
        return foreign.issue("tester", "system/*.rs")
    if kind == "expired":
        claims["exp"] = claims["iat"] - 3600
        return f"{header}.{_b64(claims)}.{good.split('.')[2]}"  # payload changed: bad signature
    if kind == "tampered-scope":
        claims["scope"] = "system/*.cruds"
        return f"{header}.{_b64(claims)}.{good.split('.')[2]}"
    return "not-a-jwt"


@pytest.mark.parametrize(
    "kind", ["alg-none", "unknown-kid", "wrong-audience", "expired", "tampered-scope", "garbage"]
)
def test_forged_or_foreign_tokens_are_refused(api: Secured, kind: str, tmp_path: Path) -> None:
    status, body = api.get("/fhir/Patient/alice", _forged(api, kind, tmp_path))
    assert status == 401
    assert body["resourceType"] == "OperationOutcome"


def test_no_token_is_401_but_metadata_is_public(api: Secured) -> None:
    assert api.get("/fhir/Patient/alice", None)[0] == 401
    assert api.get("/fhir/Patient", None)[0] == 401
    response = api.client.post("/fhir", json={"resourceType": "Bundle", "type": "batch"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert api.get("/fhir/metadata", None)[0] == 200
    assert api.client.get("/fhir/.well-known/smart-configuration").json()["jwks_uri"]


def test_revoked_token_is_refused(api: Secured) -> None:
    api.security.accounts.add_client(ClientApp("test-app", scope="system/*.rs"))  # public
    token = api.security.tokens.issue("tester", "system/*.rs", client_id="test-app")
    assert api.get("/fhir/Patient/alice", token)[0] == 200
    form = {"token": token, "client_id": "test-app"}
    assert api.client.post("/auth/revoke", data=form).status_code == 200
    assert api.get("/fhir/Patient/alice", token)[0] == 401


def test_rotated_keys_still_verify_old_tokens(api: Secured) -> None:
    old = api.token("system/*.rs")
    kid = api.security.keys.rotate()
    new = api.token("system/*.rs")
    assert json.loads(base64.urlsafe_b64decode(new.split(".")[0] + "=="))["kid"] == kid
    assert api.get("/fhir/Patient/alice", old)[0] == 200
    assert api.get("/fhir/Patient/alice", new)[0] == 200
    assert len(api.client.get("/auth/jwks").json()["keys"]) == 2


ALICE_SCOPES = "patient/*.rs"
OTHER_PATIENT_URLS = [
    "/fhir/Patient/bob",
    "/fhir/Observation/bob-bp",
    "/fhir/Patient/bob/_history",
    "/fhir/Patient/bob/_history/1",
    "/fhir/Observation/bob-bp/_history/1",
]


@pytest.mark.parametrize("url", OTHER_PATIENT_URLS)
def test_patient_token_cannot_read_another_patient(api: Secured, url: str) -> None:
    token = api.token(ALICE_SCOPES, patient="alice")
    status, body = api.get(url, token)
    assert status == 404, body
    own = url.replace("bob", "alice")
    assert api.get(own, token)[0] == 200


ALICE_ALL = {"Patient/alice", "Observation/alice-bp", "Observation/alice-lab"}
SEARCHES = [
    ("/fhir/Patient", {"Patient/alice"}),
    ("/fhir/Observation", {"Observation/alice-bp", "Observation/alice-lab"}),
    ("/fhir/Observation/_history", {"Observation/alice-bp", "Observation/alice-lab"}),
    ("/fhir/_history", ALICE_ALL),
    ("/fhir?_type=Observation", {"Observation/alice-bp", "Observation/alice-lab"}),
    ("/fhir/Patient?_id=bob", None),
    ("/fhir/Observation?subject=Patient/bob", None),
    ("/fhir/Observation?patient=bob", None),
    ("/fhir/Observation?_include=Observation:subject", None),
    ("/fhir/Patient?_revinclude=Observation:subject", None),
    ("/fhir/Patient?_has:Observation:subject:status=final", None),
    ("/fhir/Observation?subject.name=Nguyen-bob", None),
    ("/fhir/Patient/bob/$everything", None),
    ("/fhir/Patient/bob/Observation", set()),  # compartment search of another patient
    ("/fhir/Patient/alice/Observation", {"Observation/alice-bp", "Observation/alice-lab"}),
]


@pytest.mark.parametrize(("url", "exactly"), SEARCHES)
def test_patient_token_searches_see_only_the_own_compartment(
    api: Secured, url: str, exactly: set[str] | None
) -> None:
    """Whatever the store supports of each search (an unsupported parameter is ignored, a
    feature not served yet is a 4xx), nothing outside Alice's compartment comes back."""
    status, bundle = api.get(url, api.token(ALICE_SCOPES, patient="alice"))
    assert status < 500, bundle
    if status >= 400:
        return
    found = set(_ids(bundle))
    assert found <= ALICE_ALL, found - ALICE_ALL
    if exactly is not None:
        assert found == exactly


def test_scope_filter_narrows_to_vital_signs(api: Secured) -> None:
    token = api.token(f"patient/Observation.rs?category={VITAL}", patient="alice")
    status, bundle = api.get("/fhir/Observation", token)
    assert status == 200 and _ids(bundle) == ["Observation/alice-bp"]
    assert api.get("/fhir/Observation/alice-lab", token)[0] == 404
    assert api.get("/fhir/Observation/alice-bp", token)[0] == 200
    assert api.get("/fhir/Patient/alice", token)[0] == 403  # no scope for Patient at all


def test_patient_token_cannot_write_into_another_compartment(api: Secured) -> None:
    token = api.token("patient/Observation.cruds", patient="alice")
    assert (
        api.send("POST", "/fhir/Observation", token, observation("x", "bob", "laboratory")) == 404
    )
    assert (
        api.send(
            "PUT", "/fhir/Observation/bob-bp", token, observation("bob-bp", "alice", "laboratory")
        )
        == 404
    )
    assert api.send("DELETE", "/fhir/Observation/bob-bp", token, None) == 404
    assert (
        api.send("POST", "/fhir/Observation", token, observation("y", "alice", "laboratory")) == 201
    )
    assert api.get("/fhir/Observation/bob-bp", api.token("system/*.rs"))[0] == 200


def test_batch_entries_are_each_authorised(api: Secured) -> None:
    token = api.token(ALICE_SCOPES, patient="alice")
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/alice"}},
            {"request": {"method": "GET", "url": "Patient/bob"}},
            {"request": {"method": "GET", "url": "Observation?subject=Patient/bob"}},
        ],
    }
    headers = {"Authorization": f"Bearer {token}"}
    response = api.client.post("/fhir", json=batch, headers=headers).json()
    statuses = [e["response"]["status"] for e in response["entry"]]
    assert statuses[0].startswith("200") and statuses[1].startswith("404")
    assert set(_ids(response["entry"][2]["resource"])) <= ALICE_ALL


def test_read_only_scope_refuses_writes(api: Secured) -> None:
    token = api.token("system/*.rs")
    assert api.send("POST", "/fhir/Patient", token, _patient("carol")) == 403
    assert api.send("DELETE", "/fhir/Patient/alice", token, None) == 403
    v1 = api.token("system/*.read")
    assert api.get("/fhir/Patient/alice", v1)[0] == 200


INJECTIONS = ["' OR 1=1 --", "x'); DROP TABLE resources; --", '" OR ""="', "1 UNION SELECT 1"]


@pytest.mark.parametrize("attack", INJECTIONS)
@pytest.mark.parametrize(
    "param", ["_id", "name", "family", "birthdate", "subject", "_sort", "code", "subject.name"]
)
def test_sql_injection_gives_no_5xx_and_no_extra_rows(
    api: Secured, attack: str, param: str
) -> None:
    resource = "Observation" if param in ("subject", "code", "subject.name") else "Patient"
    token = api.token(ALICE_SCOPES, patient="alice")
    status, bundle = api.get(f"/fhir/{resource}?{param}={attack}", token)
    assert status < 500, bundle
    if status == 200:
        assert all(i.endswith("alice") or "alice-" in i for i in _ids(bundle))


def test_every_interaction_and_denial_is_audited_without_tokens(api: Secured) -> None:
    token = api.token(ALICE_SCOPES, patient="alice", subject="citizen-alice")
    api.get("/fhir/Patient/alice", token)
    api.get("/fhir/Patient/bob", token)
    api.get("/fhir/Patient/alice", "forged")
    events = api.security.audit.events()
    outcomes = [(e["subtype"][0]["code"], e["outcome"]) for e in events]
    assert outcomes == [("read", "0"), ("read", "4"), ("login", "4")]
    assert token not in api.security.audit.path.read_text()
    assert api.security.audit.verify().ok


def test_citizen_lists_who_accessed_their_record(api: Secured) -> None:
    doctor = api.token("user/*.rs", subject="dr-tran")
    api.get("/fhir/Patient/alice", doctor)
    api.get("/fhir/Patient/bob", doctor)
    alice = api.token(ALICE_SCOPES, patient="alice", subject="citizen-alice")
    seen = api.client.get("/auth/my-accesses", headers={"Authorization": f"Bearer {alice}"}).json()
    assert [(a["who"], a["what"]) for a in seen] == [("dr-tran", "Patient/alice")]
    assert api.client.get("/auth/my-accesses").status_code == 401


def test_conditional_create_does_not_hand_out_another_patients_match(api: Secured) -> None:
    token = api.token("patient/Observation.crs", patient="alice")
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/fhir+json",
        "If-None-Exist": "_id=bob-bp",
    }
    body = observation("new-one", "alice", "laboratory")
    response = api.client.post("/fhir/Observation", json=body, headers=headers)
    # bob's match is invisible, so treated as absent: a new resource, as with no match at all
    assert response.status_code == 201, response.text
    assert "bob" not in response.text and response.json()["subject"]["reference"] == "Patient/alice"


@pytest.mark.parametrize(
    "url", ["/fhir/Observation?_summary=count", "/fhir/Observation?_total=accurate"]
)
def test_counts_do_not_disclose_hidden_resources(api: Secured, url: str) -> None:
    status, bundle = api.get(url, api.token(ALICE_SCOPES, patient="alice"))
    assert status == 200 and bundle.get("total") in (None, 2)
    system_status, everything = api.get(url, api.token("system/*.rs"))
    assert system_status == 200 and everything.get("total", 3) == 3


def test_patch_cannot_move_a_resource_out_of_reach(api: Secured) -> None:
    token = api.token("patient/Observation.rus", patient="alice")
    move = [{"op": "replace", "path": "/subject/reference", "value": "Patient/bob"}]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json-patch+json"}
    response = api.client.patch("/fhir/Observation/alice-lab", json=move, headers=headers)
    assert response.status_code == 404
    still = api.get("/fhir/Observation/alice-lab", api.token("system/*.rs"))[1]
    assert still["subject"] == {"reference": "Patient/alice"}  # rolled back


@pytest.mark.parametrize(
    ("method", "criteria", "expected"),
    [
        ("DELETE", "_id=bob-bp", 204),  # bob's is treated as absent: nothing to delete
        ("DELETE", "_lastUpdated=gt2000-01-01", 412),  # alice's two, never bob's
    ],
)
def test_conditional_writes_cannot_reach_another_patient(
    api: Secured, method: str, criteria: str, expected: int
) -> None:
    token = api.token("patient/Observation.cruds", patient="alice")
    status = api.send(method, f"/fhir/Observation?{criteria}", token, None)
    assert status == expected
    assert api.get("/fhir/Observation/bob-bp", api.token("system/*.rs"))[0] == 200


# Every search parameter type, modifiers, chains, _has, _include/_revinclude and _sort, with an
# unrestricted token so that no access check could hide an extra row the SQL let through.
INJECTED_SEARCHES = [
    ("Patient", "_id"),  # token (id)
    ("Patient", "name"),  # string
    ("Patient", "name:exact"),
    ("Patient", "name:contains"),
    ("Patient", "_text"),  # string (special columns)
    ("Patient", "birthdate"),  # date
    ("Patient", "_lastUpdated"),
    ("Observation", "code"),  # token
    ("Observation", "code:not"),
    ("Observation", "code:text"),
    ("Observation", "category:missing"),
    ("Observation", "subject"),  # reference
    ("Observation", "subject:Patient"),
    ("Observation", "value-quantity"),  # quantity
    ("RiskAssessment", "probability"),  # number
    ("ValueSet", "url"),  # uri
    ("Patient", "_profile"),
    ("Observation", "code-value-quantity"),  # composite
    ("Location", "near"),  # special
    ("Observation", "subject.name"),  # chain
    ("Observation", "subject:Patient.family"),
    ("Patient", "_has:Observation:subject:code"),  # reverse chain
    ("Patient", "_sort"),
    ("Observation", "_include"),
    ("Patient", "_revinclude"),
    ("Patient", "_elements"),
]


ATTACKS = [*INJECTIONS, "alice' --", "%' OR '%'='", "\\'; SELECT 1;"]


@pytest.mark.parametrize(("resource", "param"), INJECTED_SEARCHES)
def test_sql_injection_in_every_search_type_returns_nothing_extra(
    api: Secured, resource: str, param: str
) -> None:
    token = api.token("system/*.rs")
    everything = set(_ids(api.get(f"/fhir/{resource}?_count=100", token)[1]))
    observations = {f"Observation/{i}" for i in ("alice-bp", "alice-lab", "bob-bp")}
    for attack in ATTACKS:
        status, bundle = api.get(f"/fhir/{resource}?{param}={quote(attack)}", token)
        assert status < 500, (attack, bundle)
        if status != 200:
            assert bundle["resourceType"] == "OperationOutcome"  # refused as bad input
            continue
        found = _ids(bundle)
        if param in ("_sort", "_elements", "code:not", "category:missing", "_revinclude"):
            # Parameters that do not filter on the value: at most the type's resources.
            assert set(found) <= everything | observations, (attack, found)
        else:
            assert found == [], (attack, found)  # no stored value equals the attack text
    assert _ids(api.get("/fhir/Patient?_count=100", token)[1]) == ["Patient/alice", "Patient/bob"]


def test_system_level_operations_need_an_unrestricted_scope(api: Secured) -> None:
    """``$reindex`` rebuilds every index and ``$export`` reads everyone: a citizen's
    ``patient/*`` token or a read-only token may not start them."""
    citizen = api.token("patient/*.cruds", patient="alice")
    assert api.send("POST", "/fhir/$reindex", citizen, None) == 403
    assert api.get("/fhir/$reindex", citizen)[0] == 403
    assert api.get("/fhir/$export", citizen)[0] == 403
    reader = api.token("system/*.rs")
    assert api.send("POST", "/fhir/$reindex", reader, None) == 403
    assert api.get("/fhir/$reindex", reader)[0] == 200
    operator = api.token("system/*.cruds")
    assert api.send("POST", "/fhir/$reindex", operator, None) in (200, 202)


def test_patient_token_compartment_search_of_another_patient_is_empty(api: Secured) -> None:
    """The compartment URL of another patient answers as an empty search (no 403 or 404 that
    would tell whether bob exists), and the same URL for alice finds her data."""
    token = api.token(ALICE_SCOPES, patient="alice")
    status, bundle = api.get("/fhir/Patient/bob/Observation", token)
    assert status == 200, bundle
    assert _ids(bundle) == []
    status, own = api.get("/fhir/Patient/alice/Observation", token)
    assert status == 200 and set(_ids(own)) >= {"Observation/alice-bp", "Observation/alice-lab"}
