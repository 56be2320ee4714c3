"""Two server processes on one database share the authorization server's state.

Each test builds two independent apps (their own store connection pool, their own
``SecurityServices``) over the same database and the same ``$YTESO_HOME/auth`` keys, as two
``yteso serve`` processes behind a load balancer would be: a code issued by one is redeemed
once through either, a refresh token rotates across them, a revocation, a used client
assertion ``jti`` and a login lockout seen by one hold for the other. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc.jwk import RSAKey
from typer.testing import CliRunner

from tests.api.fhir_client import FhirClient
from tests.api.secured_app import CHEAP_ARGON2
from tests.web.test_authorization_server import (
    BACKEND_KEY,
    PASSWORD,
    REDIRECT,
    _assertion,
    authorize_params,
)
from yteso.app import create_app
from yteso.auth import ClientApp, MemoryAuthState, SecurityServices
from yteso.auth.state import AuthState
from yteso.cli.main import app as cli
from yteso.store import open_store
from yteso.store.auth_directory import StoreDirectory
from yteso.store.auth_records import auth_records
from yteso.store.sql_store import SqlStore

TOKEN_URL = "http://testserver/auth/token"


class Server:
    """One server process's app: its own store pool and security services."""

    def __init__(self, url: str, home: Path) -> None:
        self.store: SqlStore = open_store(url)
        self.security = SecurityServices.open(
            home,
            password_hasher=CHEAP_ARGON2,
            state=auth_records(self.store),
            directory=StoreDirectory(self.store),
        )
        self.http = FhirClient(create_app(self.store, security=self.security))

    def login(self, password: str = PASSWORD) -> tuple[int, str]:
        """Run the code flow's login; (status, code or '')."""
        params = authorize_params(
            CHALLENGE, "launch/patient patient/*.rs offline_access", state="s"
        )
        answer = self.http.post(
            "/auth/authorize", data={**params, "username": "alice", "password": password}
        )
        if answer.status_code != 303:
            return answer.status_code, ""
        return 303, parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]

    def redeem(self, code: str) -> tuple[int, dict[str, object]]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "phr-app",
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
        }
        response = self.http.post("/auth/token", data=form)
        return response.status_code, response.json()

    def refresh(self, token: str) -> tuple[int, dict[str, object]]:
        form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": "phr-app"}
        response = self.http.post("/auth/token", data=form)
        return response.status_code, response.json()

    def read_alice(self, token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return self.http.get("/fhir/Patient/alice", headers=headers).status_code


VERIFIER = secrets.token_urlsafe(48)
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
)


@pytest.fixture
def servers(store_url: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    first, second = Server(store_url, tmp_path / "auth"), Server(store_url, tmp_path / "auth")
    first.store.bulk_write([{"resourceType": "Patient", "id": "alice"}])
    first.security.accounts.add_user(
        "alice", PASSWORD, "citizen", patient="alice", fhir_user="Patient/alice"
    )
    second.security.accounts.add_client(
        ClientApp("phr-app", (REDIRECT,), "launch/patient patient/*.rs offline_access")
    )
    first.security.accounts.add_client(
        ClientApp(
            "lab-system",
            scope="system/Patient.rs",
            jwks={"keys": [BACKEND_KEY.as_dict(private=False)]},
        )
    )
    try:
        with first.http, second.http:
            yield first, second
    finally:
        first.store.close()
        second.store.close()


def test_a_code_from_one_process_is_redeemed_once_through_either(
    servers: tuple[Server, Server],
) -> None:
    first, second = servers
    status, code = first.login()  # the user and client were saved through different processes
    assert status == 303
    status, tokens = second.redeem(code)
    assert status == 200, tokens
    assert first.read_alice(str(tokens["access_token"])) == 200
    assert first.redeem(code)[0] == 400 and second.redeem(code)[0] == 400


def test_concurrent_redemptions_of_one_code_give_one_token(
    servers: tuple[Server, Server],
) -> None:
    first, second = servers
    _, code = first.login()
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda s=s: statuses.append(s.redeem(code)[0]))
        for s in (first, second, first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 400, 400, 400]


def test_refresh_tokens_rotate_across_processes(servers: tuple[Server, Server]) -> None:
    first, second = servers
    _, code = first.login()
    _, tokens = first.redeem(code)
    refresh = str(tokens["refresh_token"])
    status, renewed = second.refresh(refresh)
    assert status == 200 and renewed["refresh_token"] != refresh
    assert first.refresh(refresh)[0] == 400  # rotated: the old one is spent everywhere
    assert first.refresh(str(renewed["refresh_token"]))[0] == 200


def test_a_revocation_through_one_process_holds_in_the_other(
    servers: tuple[Server, Server],
) -> None:
    first, second = servers
    _, code = first.login()
    token = str(first.redeem(code)[1]["access_token"])
    assert second.read_alice(token) == 200  # verified and cached by the second process
    revoked = first.http.post("/auth/revoke", data={"token": token, "client_id": "phr-app"})
    assert revoked.status_code == 200
    assert first.read_alice(token) == 401  # at once where it was revoked
    revoked_at = time.monotonic()
    while second.read_alice(token) == 200:  # the other re-reads the list within a second
        assert time.monotonic() - revoked_at < 5  # one second by design; slack for a loaded CI
        time.sleep(0.05)
    assert second.read_alice(token) == 401


def test_a_client_assertion_jti_is_used_once_across_processes(
    servers: tuple[Server, Server],
) -> None:
    first, second = servers
    form = {
        "grant_type": "client_credentials",
        "scope": "system/Patient.rs",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": _assertion(),
    }
    assert second.http.post("/auth/token", data=form).status_code == 200
    replay = first.http.post("/auth/token", data=form)
    assert replay.status_code == 401 and "already used" in replay.json()["error_description"]
    other = RSAKey.generate_key(2048, parameters={"kid": "backend-1", "alg": "RS384"})
    forged = _assertion(jti="new", _key=other)
    assert (
        first.http.post("/auth/token", data={**form, "client_assertion": forged}).status_code == 401
    )


def test_login_lockout_counts_failures_from_every_process(
    servers: tuple[Server, Server],
) -> None:
    first, second = servers
    for attempt in range(5):
        server = first if attempt % 2 else second
        assert server.login("wrong password!")[0] == 401
    assert first.login()[0] == 401  # the right password, but locked
    assert second.login()[0] == 401


def test_users_and_clients_managed_by_the_cli_are_seen_by_a_running_server(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YTESO_HOME", str(tmp_path))
    server = Server(store_url, tmp_path / "auth")
    runner = CliRunner()
    try:
        added = runner.invoke(
            cli,
            ["auth", "add-user", "--username", "alice", "--role", "citizen", "--db", store_url],
            input=f"{PASSWORD}\n{PASSWORD}\n",
        )
        assert added.exit_code == 0, added.output
        client = ["auth", "add-client", "--client-id", "phr-app", "--db", store_url]
        client += ["--scope", "launch/patient patient/*.rs", "--redirect-uri", REDIRECT]
        assert runner.invoke(cli, client).exit_code == 0
        with server.http:
            status, code = server.login()
            assert status == 303 and server.redeem(code)[0] == 200
            listed = runner.invoke(cli, ["auth", "list-users", "--db", store_url])
            assert '"username":"alice"' in listed.output and "argon2" not in listed.output
            removed = runner.invoke(cli, ["auth", "remove-user", "alice", "--db", store_url])
            assert removed.exit_code == 0
            assert server.login()[0] == 401
            again = runner.invoke(cli, ["auth", "remove-user", "alice", "--db", store_url])
            assert again.exit_code == 1
    finally:
        server.store.close()


def _states(store_url: str) -> Iterator[AuthState]:
    yield MemoryAuthState()
    store = open_store(store_url)
    try:
        yield auth_records(store)
    finally:
        store.close()


def test_auth_state_semantics(store_url: str) -> None:
    for state in _states(store_url):
        past, future = time.time() - 1, time.time() + 60
        assert state.add("k", "a", "1", future) and not state.add("k", "a", "2", future)
        assert state.get("k", "a") == "1"
        state.put("k", "b", "x", past)  # already expired: invisible, replaceable
        assert state.get("k", "b") is None and state.take("k", "b") is None
        assert state.add("k", "b", "y", future) and state.get("k", "b") == "y"
        state.put("k", "c", "forever")
        assert state.items("k") == [("a", "1"), ("b", "y"), ("c", "forever")]
        assert state.count("k") == 3 and state.count("other") == 0
        assert state.take("k", "a") == "1" and state.take("k", "a") is None
        assert state.delete("k", "c") == 1 and state.delete("k") == 1 and state.count("k") == 0
        odd = "x'; DROP TABLE auth_record; --"
        state.put(odd, odd, odd)
        assert state.get(odd, odd) == odd


def test_accounts_of_a_former_accounts_file_move_into_the_database(
    store_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "auth"
    home.mkdir()
    hashed = CHEAP_ARGON2.hash(PASSWORD)
    user = {"username": "alice", "password_hash": hashed, "role": "citizen", "patient": "alice"}
    client = {"client_id": "phr-app", "redirect_uris": [REDIRECT], "scope": "patient/*.rs"}
    legacy = home / "accounts.json"
    legacy.write_text(json.dumps({"users": [user], "clients": [client]}))
    SecurityServices.open(home, password_hasher=CHEAP_ARGON2)  # no database: left alone
    assert legacy.exists()
    server = Server(store_url, home)
    try:
        assert not legacy.exists() and (home / "accounts.json.imported").exists()
        assert server.security.accounts.login("alice", PASSWORD).patient == "alice"
        found = server.security.accounts.client("phr-app")
        assert found is not None and found.redirect_uris == (REDIRECT,)
    finally:
        server.store.close()
