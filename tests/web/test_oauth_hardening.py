"""Issue 6 audit findings 1-3 on the authorization server, on SQLite and PostgreSQL.

Every token exchange (granted or refused) leaves an AuditEvent without secrets; ``aud`` of
``/auth/authorize`` must be the FHIR base; introspection needs client authentication; ES384
client assertions work and other algorithms do not; a requested scope is granted when it lies
within a registered one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.web import test_authorization_server
from tests.web.test_authorization_server import (
    FHIR_BASE_URL,
    REDIRECT,
    TOKEN_URL,
    Harness,
    _assertion,
    _pkce,
    authorize_params,
)
from yteso.auth import ClientApp

INTROSPECT_URL = "http://testserver/auth/introspect"
EC_KEY = ECKey.generate_key("P-384", parameters={"kid": "ec-1", "alg": "ES384"})

harness = test_authorization_server.harness  # the fixture, on both databases


def _token_events(h: Harness) -> list[dict[str, Any]]:
    """The AuditEvents of token endpoint exchanges (a ``grant_type`` detail), in order."""
    found = []
    for event in h.security.audit.events():
        details = {
            d["type"]: d["valueString"]
            for e in event.get("entity", [])
            for d in e.get("detail", [])
        }
        if "grant_type" in details:
            found.append({**details, "outcome": event["outcome"], "event": event})
    return found


def _who(event: dict[str, Any]) -> str:
    return str(event["event"]["agent"][0]["who"]["identifier"]["value"])


def _code(h: Harness, scope: str = "launch/patient patient/*.rs offline_access") -> tuple[str, str]:
    verifier, challenge = _pkce()
    return h.authorize(scope, challenge), verifier


def _ec_assertion(audience: str = TOKEN_URL, key: Any = EC_KEY, alg: str = "ES384") -> str:
    now = int(time.time())
    claims = {
        "iss": "ec-system",
        "sub": "ec-system",
        "aud": audience,
        "exp": now + 120,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


@pytest.fixture
def h(harness: Harness) -> Harness:
    base = harness
    public = {"keys": [EC_KEY.as_dict(private=False)]}
    base.security.accounts.add_client(
        ClientApp("ec-system", scope="system/*.rs", jwks=public, name="EC backend")
    )
    return base


# -- finding 1: the token endpoint audits everything it decides --------------------------


def _refused_exchanges(h: Harness) -> list[tuple[dict[str, str], str, str]]:
    """(form, expected error, expected subject) for each kind of refused exchange."""
    code, _ = _code(h)
    other_code, verifier = _code(h)
    h.exchange(other_code, verifier)  # used up
    base = {"client_id": "phr-app", "redirect_uri": REDIRECT}
    return [
        (
            {**base, "grant_type": "authorization_code", "code": code, "code_verifier": "x" * 43},
            "invalid_grant",
            "alice",  # the code names its user even when the verifier is wrong
        ),
        (
            {
                **base,
                "grant_type": "authorization_code",
                "code": other_code,
                "code_verifier": verifier,
            },
            "invalid_grant",
            "phr-app",  # a used code names nobody: the client asking is recorded
        ),
        (
            {"grant_type": "refresh_token", "client_id": "phr-app", "refresh_token": "guess"},
            "invalid_grant",
            "phr-app",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": _assertion(aud="https://elsewhere/token"),
            },
            "invalid_client",
            "lab-system",  # the client the assertion claims to be
        ),
        (
            {"grant_type": "password", "username": "alice"},
            "unsupported_grant_type",
            "unauthenticated",
        ),
    ]


def test_every_refused_exchange_is_audited_once(h: Harness) -> None:
    for form, error, subject in _refused_exchanges(h):
        before = len(_token_events(h))
        answer = h.client.post("/auth/token", data=form)
        assert answer.status_code in (400, 401) and answer.json()["error"] == error
        events = _token_events(h)[before:]
        assert len(events) == 1, form
        assert events[0]["outcome"] == "4" and events[0]["error"] == error
        assert _who(events[0]) == subject
        assert events[0]["event"]["type"]["code"] == "110114"


def test_granted_exchanges_are_audited_without_secrets(h: Harness) -> None:
    code, verifier = _code(h)
    status, body = h.exchange(code, verifier)
    assert status == 200
    refresh = {
        "grant_type": "refresh_token",
        "client_id": "phr-app",
        "refresh_token": str(body["refresh_token"]),
    }
    refreshed = h.client.post("/auth/token", data=refresh).json()
    assertion = _ec_assertion()
    backend_status, backend = h.backend_token(assertion, "system/*.rs")
    assert backend_status == 200, backend
    granted = [(e["grant_type"], _who(e), e["outcome"]) for e in _token_events(h)]
    assert granted[-3:] == [
        ("authorization_code", "alice", "0"),
        ("refresh_token", "alice", "0"),
        ("client_credentials", "ec-system", "0"),
    ]
    log = h.security.audit.path.read_text() + h.security.feed.path.read_text()
    secrets_sent = [code, verifier, body["access_token"], body["refresh_token"], assertion]
    secrets_sent += [refreshed["access_token"], refreshed["refresh_token"], backend["access_token"]]
    assert not [s for s in secrets_sent if str(s) in log]


def test_logins_and_failed_logins_are_audited(h: Harness) -> None:
    _, challenge = _pkce()
    assert h.authorize("patient/*.rs", challenge)  # a login that succeeds
    params = authorize_params(challenge, None)
    h.client.post("/auth/authorize", data={**params, "username": "alice", "password": "nope"})
    logins = [e for e in _token_events(h) if e["grant_type"] == "authorization_code"]
    assert [(_who(e), e["outcome"], e.get("error")) for e in logins[-2:]] == [
        ("alice", "0", None),
        ("alice", "4", "access_denied"),
    ]


def test_a_failed_bearer_authentication_outside_fhir_is_audited(h: Harness) -> None:
    before = len(h.security.audit.events())
    answer = h.client.get("/auth/my-accesses", headers={"Authorization": "Bearer forged"})
    assert answer.status_code == 401
    events = h.security.audit.events()[before:]
    assert [(e["type"]["code"], e["outcome"]) for e in events] == [("110114", "4")]
    assert "forged" not in h.security.audit.path.read_text()


# -- finding 3: aud, introspection, ES384, scope containment -----------------------------


@pytest.mark.parametrize(
    "aud", [None, "", "https://evil.example/fhir", "http://testserver/fhir/Patient"]
)
def test_authorize_refuses_a_missing_or_foreign_aud(h: Harness, aud: str | None) -> None:
    _, challenge = _pkce()
    params = authorize_params(challenge, "patient/*.rs", aud=aud)
    page = h.client.get("/auth/authorize", params=params)
    assert page.status_code == 400 and "aud" in page.json()["error_description"]
    login = {**params, "username": "alice", "password": "correct horse battery"}
    posted = h.client.post("/auth/authorize", data=login)
    assert posted.status_code == 400 and "location" not in posted.headers  # no code issued


def test_authorize_accepts_the_fhir_base_with_a_trailing_slash(h: Harness) -> None:
    _, challenge = _pkce()
    assert h.authorize("patient/*.rs", challenge, aud=FHIR_BASE_URL + "/")


def test_introspection_needs_client_authentication(h: Harness) -> None:
    token = h.security.tokens.issue("ops", "system/*.rs")
    for form in (
        {"token": token},
        {"token": token, "client_id": "ec-system"},
        {
            "token": token,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": _ec_assertion(audience="https://elsewhere/introspect"),
        },
    ):
        answer = h.client.post("/auth/introspect", data=form)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
        assert "sub" not in answer.json()
    refused = [e for e in _token_events(h) if e["grant_type"] == "introspect"]
    assert [e["outcome"] for e in refused] == ["4", "4", "4"]


def test_discovery_says_how_to_authenticate_for_introspection(h: Harness) -> None:
    config = h.client.get("/fhir/.well-known/smart-configuration").json()
    assert config["introspection_endpoint_auth_methods_supported"] == ["private_key_jwt"]


def test_an_authenticated_client_introspects(h: Harness) -> None:
    token = h.security.tokens.issue("ops", "system/*.rs")

    def introspect(assertion: str) -> Any:
        form = {
            "token": token,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        return h.client.post("/auth/introspect", data=form)

    assertion = _ec_assertion(audience=INTROSPECT_URL)
    answer = introspect(assertion).json()
    assert answer["active"] and answer["sub"] == "ops" and answer["scope"] == "system/*.rs"
    assert introspect(assertion).status_code == 401  # an assertion is used once
    h.security.tokens.revoke(token)
    assert introspect(_ec_assertion()).json() == {"active": False}  # aud = token URL works too


def test_es384_client_assertion_gives_a_backend_token(h: Harness) -> None:
    status, body = h.backend_token(_ec_assertion(), "system/*.rs")
    assert status == 200 and body["scope"] == "system/*.rs"
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert h.client.get("/fhir/Patient/bob", headers=auth).status_code == 200


def _hs256_with_public_key() -> str:
    """Signed by hand: joserfc (rightly) refuses to use a public key as an HMAC secret."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "kid": "ec-1"}).encode())
    claims = json.dumps(
        {
            "iss": "ec-system",
            "sub": "ec-system",
            "aud": TOKEN_URL,
            "exp": int(time.time()) + 60,
            "jti": secrets.token_hex(8),
        }
    )
    signing_input = f"{header}.{b64(claims.encode())}"
    secret = EC_KEY.as_pem(private=False)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize("case", ["es256", "hs256-with-the-public-key", "other-ec-key"])
def test_other_assertion_algorithms_and_keys_are_refused(h: Harness, case: str) -> None:
    if case == "es256":
        key = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
        assertion = _ec_assertion(key=key, alg="ES256")
    elif case == "hs256-with-the-public-key":  # key confusion: the public key as HMAC secret
        assertion = _hs256_with_public_key()
    else:
        assertion = _ec_assertion(key=ECKey.generate_key("P-384", parameters={"kid": "ec-1"}))
    status, body = h.backend_token(assertion, "system/*.rs")
    assert status == 401 and body["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("registered", "requested", "granted"),
    [
        ("patient/*.rs", "patient/Observation.rs", "patient/Observation.rs"),
        (
            "patient/*.rs",
            "patient/Observation.r patient/*.read",
            "patient/Observation.r patient/*.read",
        ),
        (
            "patient/*.rs",
            "patient/Observation.rs?category=vital-signs",
            "patient/Observation.rs?category=vital-signs",
        ),
        ("patient/*.rs", "patient/Observation.cruds", ""),  # more permissions than registered
        ("patient/*.rs", "user/Observation.rs", ""),  # another context
        ("patient/Observation.rs?category=vital-signs", "patient/Observation.rs", ""),  # wider
        (
            "patient/Observation.rs?category=vital-signs,laboratory",
            "patient/Observation.rs?category=laboratory",
            "patient/Observation.rs?category=laboratory",
        ),
        (
            "patient/Observation.rs?category=laboratory",
            "patient/Observation.rs?category=laboratory,social-history",
            "",
        ),
        ("patient/Observation.rs", "patient/*.rs", ""),  # every type is wider than one
        ("launch/patient patient/*.rs", "launch/patient openid", "launch/patient"),
    ],
)
def test_requested_scopes_are_granted_within_registered_ones(
    h: Harness, registered: str, requested: str, granted: str
) -> None:
    h.security.accounts.add_client(ClientApp("phr-app", (REDIRECT,), registered, name="PHR"))
    code, verifier = _code(h, requested)
    status, body = h.exchange(code, verifier)
    assert status == 200 and body["scope"] == granted


def test_a_narrowed_grant_reads_only_what_it_names(h: Harness) -> None:
    h.security.accounts.add_client(ClientApp("phr-app", (REDIRECT,), "patient/*.rs", name="PHR"))
    code, verifier = _code(h, "patient/Patient.rs")
    _, body = h.exchange(code, verifier)
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert h.client.get("/fhir/Patient/alice", headers=auth).status_code == 200
    assert h.client.get("/fhir/Observation?patient=alice", headers=auth).status_code == 403


def test_a_malformed_requested_scope_is_an_oauth_error(h: Harness) -> None:
    _, challenge = _pkce()
    params = authorize_params(challenge, "patient/Observation.xyz")
    page = h.client.get("/auth/authorize", params=params)
    assert page.status_code == 400 and page.json()["error"] == "invalid_scope"
