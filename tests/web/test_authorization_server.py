"""SMART App Launch grants through the real app: code + PKCE, refresh, backend services.

Negative cases first (PKCE missing/plain/wrong, reused code, client assertions with the wrong
audience, replayed, expired, unsigned or signed by an unknown key), then the happy paths ending
in a FHIR read with the issued token, on both databases.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.api.fhir_client import FhirClient
from tests.api.secured_app import CHEAP_ARGON2
from yteso.app import create_app
from yteso.auth import ClientApp, SecurityServices
from yteso.store import open_store
from yteso.store.auth_directory import StoreDirectory
from yteso.store.auth_records import auth_records

REDIRECT = "https://app.example/callback"
TOKEN_URL = "http://testserver/auth/token"
FHIR_BASE_URL = "http://testserver/fhir"  # what /auth/authorize's aud must name
PASSWORD = "correct horse battery"
BACKEND_KEY = RSAKey.generate_key(2048, parameters={"kid": "backend-1", "alg": "RS384"})


def authorize_params(
    challenge: str | None, scope: str | None, **overrides: str | None
) -> dict[str, str]:
    """The PHR app's authorization request (code flow, PKCE S256, ``aud`` the FHIR base);
    ``overrides`` change or add parameters, None drops one."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "phr-app",
        "redirect_uri": REDIRECT,
        "scope": scope,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "aud": FHIR_BASE_URL,
        **overrides,
    }
    return {name: value for name, value in params.items() if value is not None}


class Harness:
    def __init__(self, client: FhirClient, security: SecurityServices) -> None:
        self.client = client
        self.security = security

    def authorize(
        self,
        scope: str,
        challenge: str | None,
        method: str | None = "S256",
        aud: str | None = FHIR_BASE_URL,
        username: str = "alice",
    ) -> str:
        params = authorize_params(
            challenge, scope, state="xyz", aud=aud, code_challenge_method=method
        )
        page = self.client.get("/auth/authorize", params=params)
        if page.status_code != 200:
            return ""
        login = {**params, "username": username, "password": PASSWORD}
        answer = self.client.post("/auth/authorize", data=login)
        assert answer.status_code == 303, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["state"] == ["xyz"]
        return query["code"][0]

    def exchange(self, code: str, verifier: str | None) -> tuple[int, dict[str, object]]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "phr-app",
            "redirect_uri": REDIRECT,
        }
        if verifier is not None:
            form["code_verifier"] = verifier
        response = self.client.post("/auth/token", data=form)
        return response.status_code, response.json()

    def backend_token(
        self, assertion: str, scope: str = "system/Patient.rs"
    ) -> tuple[int, dict[str, object]]:
        form = {
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        response = self.client.post("/auth/token", data=form)
        return response.status_code, response.json()


@pytest.fixture
def harness(store_url: str, tmp_path: Path) -> Iterator[Harness]:
    store = open_store(store_url)
    store.bulk_write(
        [{"resourceType": "Patient", "id": "alice"}, {"resourceType": "Patient", "id": "bob"}]
    )
    security = SecurityServices.open(
        tmp_path / "auth",
        password_hasher=CHEAP_ARGON2,
        state=auth_records(store),
        directory=StoreDirectory(store),
    )
    security.accounts.add_user(
        "alice", PASSWORD, "citizen", patient="alice", fhir_user="Patient/alice"
    )
    security.accounts.add_client(
        ClientApp("phr-app", (REDIRECT,), "launch/patient patient/*.rs offline_access", name="PHR")
    )
    public_jwks = {"keys": [BACKEND_KEY.as_dict(private=False)]}
    security.accounts.add_client(
        ClientApp("lab-system", scope="system/Patient.rs", jwks=public_jwks)
    )
    try:
        with FhirClient(create_app(store, security=security)) as client:
            yield Harness(client, security)
    finally:
        store.close()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_pkce_is_required_and_s256_only(harness: Harness) -> None:
    verifier, challenge = _pkce()
    assert harness.authorize("patient/*.rs", None) == ""  # missing
    assert harness.authorize("patient/*.rs", verifier, "plain") == ""  # plain refused
    assert harness.authorize("patient/*.rs", challenge, None) == ""  # method missing


@pytest.mark.parametrize("verifier", [None, "", "wrong-verifier-" + "x" * 40])
def test_wrong_or_missing_code_verifier_is_refused(harness: Harness, verifier: str | None) -> None:
    _, challenge = _pkce()
    code = harness.authorize("patient/*.rs", challenge)
    status, body = harness.exchange(code, verifier)
    assert status == 400 and body["error"] == "invalid_grant"


def test_code_is_single_use(harness: Harness) -> None:
    verifier, challenge = _pkce()
    code = harness.authorize("patient/*.rs", challenge)
    assert harness.exchange(code, verifier)[0] == 200
    status, body = harness.exchange(code, verifier)
    assert status == 400 and body["error"] == "invalid_grant"


def test_code_flow_gives_a_patient_token_that_works(harness: Harness) -> None:
    verifier, challenge = _pkce()
    code = harness.authorize("launch/patient patient/*.rs", challenge)
    status, body = harness.exchange(code, verifier)
    assert status == 200 and body["patient"] == "alice" and "refresh_token" not in body
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert harness.client.get("/fhir/Patient/alice", headers=auth).status_code == 200
    assert harness.client.get("/fhir/Patient/bob", headers=auth).status_code == 404


def test_refresh_token_only_with_offline_access_and_rotated(harness: Harness) -> None:
    verifier, challenge = _pkce()
    code = harness.authorize("patient/*.rs offline_access", challenge)
    _, body = harness.exchange(code, verifier)
    refresh = {
        "grant_type": "refresh_token",
        "client_id": "phr-app",
        "refresh_token": body["refresh_token"],
    }
    again = harness.client.post("/auth/token", data=refresh)
    assert again.status_code == 200 and again.json()["refresh_token"] != body["refresh_token"]
    assert harness.client.post("/auth/token", data=refresh).status_code == 400  # used up


def test_wrong_password_is_refused_and_throttled(harness: Harness) -> None:
    params = authorize_params(_pkce()[1], "patient/*.rs")
    for _ in range(5):
        bad = harness.client.post(
            "/auth/authorize", data={**params, "username": "alice", "password": "nope"}
        )
        assert bad.status_code == 401
    good = harness.client.post(
        "/auth/authorize", data={**params, "username": "alice", "password": PASSWORD}
    )
    assert good.status_code == 401  # locked for a while, even with the right password
    logins = [e for e in harness.security.audit.events() if e["subtype"][0]["code"] == "login"]
    assert [e["outcome"] for e in logins] == ["4"] * 6
    assert PASSWORD not in harness.security.audit.path.read_text()


def test_unregistered_redirect_uri_is_not_followed(harness: Harness) -> None:
    params = authorize_params(_pkce()[1], None, redirect_uri="https://evil.example/")
    response = harness.client.get("/auth/authorize", params=params)
    assert response.status_code == 400 and "location" not in response.headers


def _assertion(**overrides: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "lab-system",
        "sub": "lab-system",
        "aud": TOKEN_URL,
        "exp": now + 240,
        "iat": now,
        "jti": secrets.token_hex(8),
    }
    claims.update(overrides)
    key = overrides.pop("_key", BACKEND_KEY) if "_key" in overrides else BACKEND_KEY
    claims.pop("_key", None)
    return jwt.encode({"alg": "RS384", "kid": key.kid}, claims, key, algorithms=["RS384"])


def _unsigned() -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    payload = (
        f'{{"iss":"lab-system","sub":"lab-system","aud":"{TOKEN_URL}","exp":{now + 60},"jti":"n"}}'
    )
    header = b64(b'{"alg":"none"}')
    return f"{header}.{b64(payload.encode())}."


@pytest.mark.parametrize(
    "assertion",
    [
        pytest.param(lambda: _assertion(aud="https://elsewhere/token"), id="wrong-audience"),
        pytest.param(lambda: _assertion(exp=int(time.time()) - 120), id="expired"),
        pytest.param(lambda: _assertion(exp=int(time.time()) + 3600), id="too-long-lived"),
        pytest.param(lambda: _assertion(sub="someone-else"), id="sub-not-client"),
        pytest.param(
            lambda: _assertion(_key=RSAKey.generate_key(2048, parameters={"kid": "zz"})),
            id="unknown-kid",
        ),
        pytest.param(_unsigned, id="alg-none"),
        pytest.param(lambda: "garbage", id="garbage"),
    ],
)
def test_bad_client_assertions_are_refused(harness: Harness, assertion: object) -> None:
    assert callable(assertion)
    status, body = harness.backend_token(assertion())
    assert status == 401 and body["error"] == "invalid_client"


def test_backend_service_token_and_replay(harness: Harness) -> None:
    assertion = _assertion()
    status, body = harness.backend_token(assertion)
    assert status == 200 and body["scope"] == "system/Patient.rs"
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert harness.client.get("/fhir/Patient/bob", headers=auth).status_code == 200
    replay_status, replay = harness.backend_token(assertion)
    assert replay_status == 401 and "already used" in str(replay["error_description"])
