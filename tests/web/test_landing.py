"""The landing page, rendered in a real headless Chromium, on both databases."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI
from tests.live_server import serve_in_thread
from yteso import __version__
from yteso.app import create_app
from yteso.store import open_store
from yteso.web.landing import redacted_url

CHROMIUM = os.environ.get("YTESO_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PATIENT = {
    "resourceType": "Patient",
    "name": [{"family": "Nguyễn", "given": ["Thị", "Hương"]}],
    "gender": "female",
    "birthDate": "1990-04-12",
}


@pytest.fixture
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (scripts/test installs Debian's chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.browser
def test_landing_page_shows_version_database_and_counts(store_url: str, browser: Any) -> None:
    store = open_store(store_url)
    with store.session() as session:
        for _ in range(3):
            session.create(dict(PATIENT))
    with serve_in_thread(create_app(store)) as base:
        page = browser.new_page()
        response = page.goto(base + "/")
        assert response is not None and response.status == 200
        assert page.inner_text("#version") == __version__
        assert store.dialect in page.inner_text("#database")
        rows = page.locator("#counts tbody tr")
        assert rows.count() == 1
        assert rows.nth(0).inner_text().split() == ["Patient", "3"]
        page.click("text=CapabilityStatement")
        page.wait_for_load_state()
        assert '"CapabilityStatement"' in page.content()
        page.close()
    store.close()


def test_operational_endpoints(store_url: str) -> None:
    store = open_store(store_url)
    with serve_in_thread(create_app(store)) as base:
        assert httpx.get(base + "/healthz").json() == {"status": "ok"}
        assert httpx.get(base + "/readyz").json()["status"] == "ready"
        httpx.get(base + "/fhir/metadata")
        metrics = httpx.get(base + "/metrics").text
        assert 'yteso_http_requests_total{area="fhir",method="GET",status="200"}' in metrics
    store.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
        ("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://postgres@127.0.0.1:5432/db", "postgresql://postgres@127.0.0.1:5432/db"),
    ],
)
def test_database_url_never_shows_a_password(url: str, shown: str) -> None:
    assert redacted_url(url) == shown
