"""RFC 7009 revocation with client authentication (issue 6), on SQLite and PostgreSQL.

A client registered with keys must authenticate with ``private_key_jwt``; a public client names
its ``client_id``; each revokes only the tokens issued to it; every call is audited.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.web import test_authorization_server
from tests.web.test_authorization_server import REDIRECT, Harness
from tests.web.test_oauth_hardening import _code, _ec_assertion, _token_events
from tests.web.test_oauth_hardening import h as h  # the fixture (with ec-system), both databases
from yteso.auth import ClientApp

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REVOKE_URL = "http://testserver/auth/revoke"

harness = test_authorization_server.harness  # the fixture, on both databases


def _works(h: Harness, token: str) -> bool:
    answer = h.client.get("/fhir/Patient/alice", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def _revoke(h: Harness, **form: str) -> Any:
    return h.client.post("/auth/revoke", data=form)


def _revocations(h: Harness) -> list[tuple[str, str, str | None]]:
    """(outcome, who, error) of each audited revocation call."""
    return [
        (e["outcome"], str(e["event"]["agent"][0]["who"]["identifier"]["value"]), e.get("error"))
        for e in _token_events(h)
        if e["grant_type"] == "revoke"
    ]


def _alice_tokens(h: Harness) -> dict[str, Any]:
    code, verifier = _code(h)
    status, tokens = h.exchange(code, verifier)
    assert status == 200, tokens
    return tokens


@pytest.fixture
def other_app(h: Harness) -> Harness:
    h.security.accounts.add_client(ClientApp("other-app", (REDIRECT,), "patient/*.rs"))
    return h


def test_a_confidential_client_must_authenticate_to_revoke(h: Harness) -> None:
    status, body = h.backend_token(_ec_assertion(), "system/*.rs")
    assert status == 200, body
    token = str(body["access_token"])
    for form in (
        {"token": token},  # no client at all
        {"token": token, "client_id": "ec-system"},  # registered with keys: must authenticate
        {
            "token": token,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": _ec_assertion(audience="https://elsewhere/revoke"),
        },
    ):
        answer = _revoke(h, **form)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
        assert _works(h, token)  # nothing revoked
    assertion = _ec_assertion(audience=REVOKE_URL)
    answer = _revoke(h, token=token, client_assertion_type=JWT_BEARER, client_assertion=assertion)
    assert answer.status_code == 200 and not _works(h, token)
    assert _revocations(h) == [
        ("4", "unauthenticated", "invalid_client"),
        ("4", "ec-system", "invalid_client"),
        ("4", "ec-system", "invalid_client"),
        ("0", "ec-system", None),
    ]


def test_a_client_revokes_only_its_own_tokens(other_app: Harness) -> None:
    h = other_app
    tokens = _alice_tokens(h)
    access = str(tokens["access_token"])
    answer = _revoke(h, token=access, client_id="other-app")  # a public client, not the issuee
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert _works(h, access)
    assertion = _ec_assertion(audience=REVOKE_URL)
    form = {"client_assertion_type": JWT_BEARER, "client_assertion": assertion}
    answer = _revoke(h, token=access, **form)  # an authenticated confidential one neither
    assert answer.status_code == 400 and _works(h, access)
    assert _revoke(h, token=access, client_id="phr-app").status_code == 200
    assert not _works(h, access)
    assert _revocations(h) == [
        ("4", "alice", "invalid_grant"),
        ("4", "alice", "invalid_grant"),
        ("0", "alice", None),
    ]


def test_a_public_client_revokes_its_refresh_token(other_app: Harness) -> None:
    h = other_app
    refresh = str(_alice_tokens(h)["refresh_token"])
    assert _revoke(h, token=refresh, client_id="other-app").status_code == 400
    assert _revoke(h, token=refresh, client_id="phr-app").status_code == 200
    form = {"grant_type": "refresh_token", "client_id": "phr-app", "refresh_token": refresh}
    answer = h.client.post("/auth/token", data=form)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c"])
def test_an_unknown_token_is_no_error_but_an_unknown_client_is(h: Harness, token: str) -> None:
    assert _revoke(h, token=token, client_id="phr-app").status_code == 200
    answer = _revoke(h, token=token, client_id="no-such-app")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert _revocations(h) == [("0", "phr-app", None), ("4", "no-such-app", "invalid_client")]


def test_discovery_says_how_to_authenticate_for_revocation(h: Harness) -> None:
    config = h.client.get("/fhir/.well-known/smart-configuration").json()
    assert config["revocation_endpoint_auth_methods_supported"] == ["private_key_jwt", "none"]
