"""Accounts linked to their FHIR records (issue 6 finding 4), on SQLite and PostgreSQL.

A citizen is found by CCCD (exactly one active Patient, else refused); a practitioner is linked
to a PractitionerRole, whose Practitioner and Organization are read again at each token, so an
ended role or a move to another facility shows in the next token. Through the CLI
(``yteso auth add-user --citizen-id / --practitioner-role``), the admin API and the code flow.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.web import test_authorization_server
from tests.web.test_authorization_server import (
    PASSWORD,
    REDIRECT,
    Harness,
    _pkce,
)
from yteso.auth import ClientApp, LinkRefused, account_links, citizen_patient, practitioner_link
from yteso.cli.main import app as cli
from yteso.fhir.types import Json
from yteso.fhir.vn_core import CCCD_SYSTEM
from yteso.store import open_store
from yteso.store.auth_directory import StoreDirectory
from yteso.store.sql_store import SqlStore

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

harness = test_authorization_server.harness  # the fixture, on both databases


def _patient(id: str, cccd: str, **extra: object) -> dict[str, object]:
    identifier = [{"system": CCCD_SYSTEM, "value": cccd}]
    return {"resourceType": "Patient", "id": id, "identifier": identifier, **extra}


def _role(id: str, **extra: object) -> dict[str, object]:
    return {
        "resourceType": "PractitionerRole",
        "id": id,
        "practitioner": {"reference": "Practitioner/dr-an"},
        "organization": {"reference": "Organization/tram-y-te-1"},
        **extra,
    }


RECORDS: list[dict[str, object]] = [
    _patient("alice", "001190123456", birthDate="1990-04-12", gender="female"),
    _patient("dup-1", "001090000001"),
    _patient("dup-2", "001090000001"),
    _patient("old", "001090000002", active=False),  # merged away: not a candidate
    _patient("new", "001090000002"),
    _patient("retired", "001090000003", active=False),
    {"resourceType": "Practitioner", "id": "dr-an"},
    {"resourceType": "Organization", "id": "tram-y-te-1", "name": "Trạm y tế 1"},
    _role("role-now", period={"start": "2020-01-01"}),
    _role("role-last-day", period={"start": "2020-01-01", "end": "2026-11-26"}),
    _role("role-off", active=False),
    _role("role-ended", period={"end": "2026-11-25"}),
    _role("role-future", period={"start": "2027-01-01"}),
    _role("role-nobody", practitioner={"reference": "https://elsewhere/Practitioner/x"}),
    {**_role("role-no-org"), "organization": None},
]


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = open_store(store_url)
    opened.bulk_write([{k: v for k, v in r.items() if v is not None} for r in RECORDS])
    try:
        yield opened
    finally:
        opened.close()


@pytest.mark.parametrize(
    ("cccd", "problem"),
    [
        ("001099999999", "no active Patient"),
        ("001090000001", "2 Patients have CCCD 001090000001 (dup-1, dup-2)"),
        ("001090000003", "no active Patient"),
        ("12345", "12 digits"),
        ("001090000001' OR '1'='1", "12 digits"),
    ],
)
def test_a_cccd_naming_no_or_several_patients_is_refused(
    store: SqlStore, cccd: str, problem: str
) -> None:
    with pytest.raises(LinkRefused, match=problem.replace("(", r"\(").replace(")", r"\)")):
        citizen_patient(StoreDirectory(store), cccd)


def test_a_cccd_links_its_one_active_patient(store: SqlStore) -> None:
    directory = StoreDirectory(store)
    assert citizen_patient(directory, "001190123456") == "alice"
    assert citizen_patient(directory, "001090000002") == "new"  # the inactive one is ignored


@pytest.mark.parametrize(
    ("role", "problem"),
    [
        ("missing", "no PractitionerRole/missing"),
        ("role-off", "not active"),
        ("role-ended", "not active"),
        ("role-future", "not active"),
        ("role-nobody", "names no Practitioner"),
    ],
)
def test_a_role_not_in_force_is_refused(store: SqlStore, role: str, problem: str) -> None:
    with pytest.raises(LinkRefused, match=problem):
        practitioner_link(StoreDirectory(store), role, NOW)


def test_a_role_gives_the_practitioner_and_the_facility(store: SqlStore) -> None:
    link = practitioner_link(StoreDirectory(store), "role-now", NOW)
    assert (link.practitioner, link.facility) == ("Practitioner/dr-an", "tram-y-te-1")
    last_day = practitioner_link(StoreDirectory(store), "role-last-day", NOW)  # still counts
    assert last_day.facility == "tram-y-te-1"
    bare = practitioner_link(StoreDirectory(store), "role-no-org", NOW)
    assert (bare.practitioner, bare.facility) == ("Practitioner/dr-an", None)


@pytest.mark.parametrize(
    ("role", "citizen_id", "practitioner_role", "given"),
    [
        ("practitioner", "001190123456", None, {}),  # a CCCD links citizens only
        ("citizen", "001190123456", None, {"patient": "bob"}),  # not both ways at once
        ("citizen", None, "role-now", {}),  # a role links practitioners only
        ("practitioner", None, "role-now", {"facility": "elsewhere"}),
        ("citizen", None, None, {"patient": "nobody"}),  # a stated Patient must exist
    ],
)
def test_contradictory_or_dangling_links_are_refused(
    store: SqlStore,
    role: str,
    citizen_id: str | None,
    practitioner_role: str | None,
    given: dict[str, str | None],
) -> None:
    with pytest.raises(LinkRefused):
        account_links(StoreDirectory(store), role, citizen_id, practitioner_role, given)


def _add_user(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        ["auth", "add-user", "--db", url, *args],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    return result.exit_code, result.output


def test_cli_links_a_citizen_by_cccd_and_refuses_ambiguity(
    store: SqlStore, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from yteso.app import open_security

    monkeypatch.setenv("YTESO_HOME", str(tmp_path))
    for cccd in ("001099999999", "001090000001"):
        status, output = _add_user(
            store_url, "--username", "x", "--role", "citizen", "--citizen-id", cccd
        )
        assert status == 2 and "CCCD" in output, output
    status, output = _add_user(
        store_url, "--username", "huong", "--role", "citizen", "--citizen-id", "001190123456"
    )
    assert status == 0, output
    status, output = _add_user(
        store_url, "--username", "dr", "--role", "practitioner", "--practitioner-role", "role-off"
    )
    assert status == 2 and "not active" in output
    status, output = _add_user(
        store_url, "--username", "dr", "--role", "practitioner", "--practitioner-role", "role-now"
    )
    assert status == 0, output
    accounts = open_security(store=store).accounts
    assert {u.username for u in accounts.users()} == {"huong", "dr"}  # nothing else was saved
    huong, dr = accounts.user("huong"), accounts.user("dr")
    assert huong is not None and (huong.patient, huong.fhir_user) == ("alice", "Patient/alice")
    assert dr is not None and dr.practitioner_role == "role-now" and dr.facility is None


def test_the_role_is_read_again_at_each_token(harness: Harness) -> None:
    """A practitioner moved to another facility, then whose role ended: the next refresh
    carries the new facility, then gets no token (refused and audited)."""
    directory = harness.security.directory
    assert isinstance(directory, StoreDirectory)
    directory.store.bulk_write([{k: v for k, v in r.items() if v is not None} for r in RECORDS])
    harness.security.accounts.add_user("dr", PASSWORD, "practitioner", practitioner_role="role-now")
    harness.security.accounts.add_client(
        ClientApp("phr-app", (REDIRECT,), "openid user/*.rs offline_access", name="EMR")
    )
    verifier, challenge = _pkce()
    code = harness.authorize("user/*.rs offline_access", challenge, username="dr")
    status, body = harness.exchange(code, verifier)
    assert status == 200, body
    first = harness.security.tokens.verify(str(body["access_token"]))
    assert (first.fhir_user, first.facility) == ("Practitioner/dr-an", "tram-y-te-1")

    def refresh(token: object) -> tuple[int, dict[str, object]]:
        form = {"grant_type": "refresh_token", "client_id": "phr-app", "refresh_token": token}
        answer = harness.client.post("/auth/token", data=form)
        return answer.status_code, answer.json()

    moved = _role("role-now", organization={"reference": "Organization/benh-vien-2"})
    directory.store.bulk_write([moved])
    status, body = refresh(body["refresh_token"])
    assert status == 200 and harness.security.tokens.verify(str(body["access_token"])).facility == (
        "benh-vien-2"
    )
    directory.store.bulk_write([_role("role-now", active=False)])
    status, refused = refresh(body["refresh_token"])
    assert status == 400 and refused["error"] == "invalid_grant"
    assert "not active" in str(refused["error_description"])
    last = harness.security.audit.events()[-1]
    assert last["outcome"] == "4" and last["agent"][0]["who"]["identifier"]["value"] == "dr"


def test_the_admin_api_links_a_citizen_by_cccd(harness: Harness) -> None:
    directory = harness.security.directory
    assert isinstance(directory, StoreDirectory)
    directory.store.bulk_write([{k: v for k, v in r.items() if v is not None} for r in RECORDS])
    admin = harness.security.tokens.issue("root", "openid", role="administrator")
    headers = {"Authorization": f"Bearer {admin}"}
    user = {"password": PASSWORD, "role": "citizen"}
    for cccd in ("001090000001", "001099999999"):
        body = {**user, "citizen_id": cccd}
        refused = harness.client.put("/auth/admin/users/huong", json=body, headers=headers)
        assert refused.status_code == 400 and "CCCD" in refused.json()["error_description"]
    assert harness.security.accounts.user("huong") is None
    body = {**user, "citizen_id": "001190123456"}
    made = harness.client.put("/auth/admin/users/huong", json=body, headers=headers)
    assert made.status_code == 200 and made.json()["patient"] == "alice"


@pytest.mark.parametrize(
    ("period", "in_force"),
    [
        ({"end": "2026-11-26"}, True),  # a date covers the whole day
        ({"end": "2026-11-25"}, False),
        ({"start": "2026-11-26T15:00:00+07:00"}, True),  # 08:00 UTC, before 09:00
        ({"start": "2026-11-26T16:00:01+07:00"}, False),  # 09:00:01 UTC
        ({"end": "2026-11-26T08:59:59Z"}, False),
        ({"start": "2026"}, True),
        ({"start": "2027"}, False),
        ({"end": "2026-10"}, False),
    ],
)
def test_a_role_period_is_compared_at_its_precision(period: dict[str, str], in_force: bool) -> None:
    class OneRole:
        def read(self, resource_type: str, id: str) -> Json | None:
            return _role(id, period=period)

        def with_identifier(self, resource_type: str, system: str, value: str) -> list[Json]:
            return []

    moment = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    if in_force:
        assert practitioner_link(OneRole(), "r", moment).facility == "tram-y-te-1"
    else:
        with pytest.raises(LinkRefused, match="not active"):
            practitioner_link(OneRole(), "r", moment)
