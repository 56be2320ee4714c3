"""Administrators manage users and clients, auditors read and verify the audit trail; neither
reads clinical data nor the other's endpoints. Negative cases first, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.fhir_client import FhirClient
from tests.web.test_auth_shared_state import CHALLENGE, Server
from tests.web.test_authorization_server import PASSWORD, REDIRECT, authorize_params
from yteso.auth import ClientApp

ADMIN_PATHS = [
    ("GET", "/auth/admin/users"),
    ("PUT", "/auth/admin/users/mallory"),
    ("DELETE", "/auth/admin/users/alice"),
    ("GET", "/auth/admin/clients"),
    ("PUT", "/auth/admin/clients/evil-app"),
    ("DELETE", "/auth/admin/clients/phr-app"),
]
AUDIT_PATHS = [("GET", "/auth/audit/events"), ("GET", "/auth/audit/verify")]
NEW_USER = {"password": "a long enough password", "role": "administrator"}


class Site:
    def __init__(self, server: Server) -> None:
        self.server = server
        tokens = server.security.tokens
        self.admin = tokens.issue("root", "user/*.cruds system/*.cruds", role="administrator")
        self.auditor = tokens.issue("inspector", "user/*.cruds system/*.cruds", role="auditor")
        self.system = tokens.issue("ops", "system/*.cruds")
        self.citizen = tokens.issue("alice", "patient/*.rs", patient="alice", role="citizen")

    @property
    def http(self) -> FhirClient:
        return self.server.http

    def call(self, method: str, path: str, token: str | None, body: object = None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs = {"json": body if body is not None else NEW_USER} if method == "PUT" else {}
        return self.http.request(method, path, headers=headers, **kwargs).status_code


@pytest.fixture
def site(store_url: str, tmp_path: Path) -> Iterator[Site]:
    server = Server(store_url, tmp_path / "auth")
    server.store.bulk_write([{"resourceType": "Patient", "id": "alice"}])
    server.security.accounts.add_user("alice", PASSWORD, "citizen", patient="alice")
    server.security.accounts.add_user("root", PASSWORD, "administrator")
    server.security.accounts.add_client(
        ClientApp("phr-app", (REDIRECT,), "openid launch/patient patient/*.rs user/*.rs")
    )
    try:
        with server.http:
            yield Site(server)
    finally:
        server.store.close()


@pytest.mark.parametrize(("method", "path"), ADMIN_PATHS + AUDIT_PATHS)
def test_no_token_is_401(site: Site, method: str, path: str) -> None:
    assert site.call(method, path, None) == 401
    assert site.call(method, path, "not-a-token") == 401


@pytest.mark.parametrize(("method", "path"), ADMIN_PATHS)
def test_only_administrators_manage_accounts(site: Site, method: str, path: str) -> None:
    for token in (site.auditor, site.system, site.citizen):
        assert site.call(method, path, token) == 403
    assert {u.username for u in site.server.security.accounts.users()} == {"alice", "root"}
    assert [c.client_id for c in site.server.security.accounts.clients()] == ["phr-app"]


@pytest.mark.parametrize(("method", "path"), AUDIT_PATHS)
def test_only_auditors_read_the_audit_trail(site: Site, method: str, path: str) -> None:
    for token in (site.admin, site.system, site.citizen):
        assert site.call(method, path, token) == 403


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_administrators_and_auditors_read_no_clinical_data(site: Site, role: str) -> None:
    token = getattr(site, role)
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/fhir/Patient/alice", "/fhir/Patient", "/fhir/_history", "/fhir/$export"):
        assert site.http.get(path, headers=headers).status_code == 403, path
    batch = {"resourceType": "Bundle", "type": "batch", "entry": []}
    assert site.http.post("/fhir", json=batch, headers=headers).status_code == 403
    created = site.http.post(
        "/fhir/Patient", json={"resourceType": "Patient"}, headers=headers
    ).status_code
    assert created == 403 and site.server.store.counts() == {"Patient": 1}


def test_the_code_flow_grants_an_administrator_no_clinical_scope(site: Site) -> None:
    params = authorize_params(CHALLENGE, "openid user/*.rs patient/*.rs", state="s")
    answer = site.http.post(
        "/auth/authorize", data={**params, "username": "root", "password": PASSWORD}
    )
    assert answer.status_code == 303
    code = answer.headers["location"].split("code=")[1].split("&")[0]
    status, tokens = site.server.redeem(code)
    assert status == 200 and tokens["scope"] == "openid"
    admin = str(tokens["access_token"])
    assert site.call("GET", "/auth/admin/users", admin) == 200  # the role rides in the token
    assert site.server.security.tokens.verify(admin).role == "administrator"
    assert site.http.get(
        "/fhir/Patient/alice", headers={"Authorization": f"Bearer {admin}"}
    ).status_code in (403, 404)


def test_invalid_account_changes_are_refused_without_change(site: Site) -> None:
    bad_users = [
        {"password": "short", "role": "administrator"},
        {"password": "a long enough password", "role": "superuser"},
        {"password": "a long enough password", "role": "citizen", "extra": 1},
        {"password": 12345678901234, "role": "citizen"},
        ["not", "an", "object"],
    ]
    for body in bad_users:
        assert site.call("PUT", "/auth/admin/users/mallory", site.admin, body) == 400, body
    bad_client = {"scope": "system/*.rs", "redirect_uris": ["http://plain.example/cb"]}
    assert site.call("PUT", "/auth/admin/clients/evil", site.admin, bad_client) == 400
    assert site.server.security.accounts.user("mallory") is None
    assert site.server.security.accounts.client("evil") is None
    headers = {"Authorization": f"Bearer {site.admin}"}
    raw = site.http.put("/auth/admin/users/m", content=b"{not json", headers=headers)
    assert raw.status_code == 400


def test_an_administrator_manages_users_and_clients(site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.admin}"}
    user = {"password": "another long password", "role": "practitioner", "facility": "org1"}
    made = site.http.put("/auth/admin/users/bob", json=user, headers=headers)
    assert made.status_code == 200 and made.json()["facility"] == "org1"
    listed = site.http.get("/auth/admin/users", headers=headers).json()
    assert {u["username"] for u in listed} == {"alice", "bob", "root"}
    assert not any("password_hash" in u for u in listed)
    assert site.server.security.accounts.login("bob", "another long password").role == (
        "practitioner"
    )
    client = {"scope": "patient/*.rs", "redirect_uris": ["https://new.example/cb"], "name": "N"}
    assert site.call("PUT", "/auth/admin/clients/new-app", site.admin, client) == 200
    assert site.server.security.accounts.client("new-app") is not None
    assert site.call("DELETE", "/auth/admin/clients/new-app", site.admin) == 204
    assert site.call("DELETE", "/auth/admin/clients/new-app", site.admin) == 404
    assert site.call("DELETE", "/auth/admin/users/bob", site.admin) == 204
    assert site.server.security.accounts.user("bob") is None


def test_an_auditor_reads_and_verifies_the_trail(site: Site) -> None:
    citizen = {"Authorization": f"Bearer {site.citizen}"}
    assert site.http.get("/fhir/Patient/alice", headers=citizen).status_code == 200
    assert site.call("GET", "/auth/admin/users", site.citizen) == 403  # a denial is audited
    headers = {"Authorization": f"Bearer {site.auditor}"}
    bundle = site.http.get("/auth/audit/events?patient=alice", headers=headers).json()
    assert bundle["resourceType"] == "Bundle" and bundle["total"] >= 1
    events = [e["resource"] for e in bundle["entry"]]
    assert all(e["resourceType"] == "AuditEvent" for e in events)
    assert any(e["subtype"][0]["code"] == "read" for e in events)
    everything = site.http.get("/auth/audit/events?_count=2", headers=headers).json()
    assert len(everything["entry"]) == 2 and everything["total"] > 2
    denied = [
        e["resource"]
        for e in site.http.get("/auth/audit/events", headers=headers).json()["entry"]
        if e["resource"]["entity"][0].get("what", {}).get("reference") == "user"
    ]
    assert denied and denied[-1]["outcome"] == "4"
    assert site.http.get("/auth/audit/events?_count=x", headers=headers).status_code == 400
    verified = site.http.get("/auth/audit/verify", headers=headers).json()
    assert verified["ok"] and verified["records"] > 3
    log = site.server.security.audit
    log.path.write_text(log.path.read_text().replace('"read"', '"vread"', 1))
    tampered = site.http.get("/auth/audit/verify", headers=headers).json()
    assert not tampered["ok"] and "edited" in tampered["problems"][0]
