"""The server-rendered login page of ``/auth/authorize`` in a real headless Chromium, on SQLite
and PostgreSQL: a wrong password stays on the page with the error (and no code), hostile
request parameters and client names are shown as text, never run, and the right password
redirects to the registered URI with a code that the token endpoint redeems."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests import live_server
from tests.api.secured_app import CHEAP_ARGON2
from tests.web import test_landing
from tests.web.test_authorization_server import PASSWORD, authorize_params
from yteso.app import create_app
from yteso.auth import ClientApp, SecurityServices
from yteso.store import open_store
from yteso.store.auth_directory import StoreDirectory
from yteso.store.auth_records import auth_records

browser = test_landing.browser  # the Chromium fixture
HOSTILE_STATE = '"><script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
HOSTILE_NAME = "<b id=injected>Sổ sức khỏe</b>"


def _login_url(base: str, challenge: str) -> str:
    params = authorize_params(
        challenge,
        "launch/patient patient/*.rs",
        redirect_uri=f"{base}/app/callback",
        state=HOSTILE_STATE,
        aud=f"{base}/fhir",
    )
    return f"{base}/auth/authorize?{urlencode(params)}"


@pytest.mark.browser
def test_login_page_in_a_browser(store_url: str, tmp_path: Path, browser: Any) -> None:
    store = open_store(store_url)
    store.bulk_write([{"resourceType": "Patient", "id": "alice"}])
    security = SecurityServices.open(
        tmp_path / "auth",
        password_hasher=CHEAP_ARGON2,
        state=auth_records(store),
        directory=StoreDirectory(store),
    )
    security.accounts.add_user("alice", PASSWORD, "citizen", patient="alice")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    try:
        with live_server.serve_in_thread(create_app(store, security=security)) as base:
            redirect = f"{base}/app/callback"  # the app's page: a 404 here, but a real URL
            security.accounts.add_client(
                ClientApp("phr-app", (redirect,), "launch/patient patient/*.rs", name=HOSTILE_NAME)
            )
            page = browser.new_page()
            shown = page.goto(_login_url(base, challenge.rstrip(b"=").decode()))
            assert shown is not None and shown.status == 200
            assert shown.headers["cache-control"] == "no-store"
            assert page.title().startswith("Đăng nhập")
            assert HOSTILE_NAME in page.inner_text("body")  # the name as text...
            assert page.locator("#injected").count() == 0  # ...not as markup
            assert page.get_attribute("input[name=password]", "type") == "password"

            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", "not the password")
            with page.expect_navigation():
                page.click("button[type=submit]")
            assert "Unknown user name or wrong password" in page.inner_text("#error")
            assert page.url.startswith(base + "/auth/authorize")  # no code went out
            assert page.evaluate("window.pwned") is None  # the state never ran as script

            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            assert page.url.startswith(redirect + "?")
            query = parse_qs(urlsplit(page.url).query)
            assert query["state"] == [HOSTILE_STATE]  # carried through the form unchanged
            form = {
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "client_id": "phr-app",
                "redirect_uri": redirect,
                "code_verifier": verifier,
            }
            token = httpx.post(base + "/auth/token", data=form).json()
            assert token["patient"] == "alice" and token["scope"] == "launch/patient patient/*.rs"
            page.close()
        outcomes = [
            e["outcome"] for e in security.audit.events() if e["subtype"][0]["code"] == "login"
        ]
        assert outcomes == ["4", "0", "0"]  # failed login, login, code exchange
    finally:
        store.close()
