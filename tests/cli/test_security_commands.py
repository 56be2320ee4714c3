"""``yteso auth token`` and ``yteso audit verify`` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from yteso.app import open_security
from yteso.cli.main import app


def test_token_command_prints_a_token_the_server_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YTESO_HOME", str(tmp_path))
    result = CliRunner().invoke(
        app, ["auth", "token", "--subject", "ops", "--scope", "system/*.rs", "--ttl", "60"]
    )
    assert result.exit_code == 0, result.output
    principal = open_security().tokens.verify(result.output.strip())
    assert principal.subject == "ops" and str(principal.scopes) == "system/*.rs"
    bad = CliRunner().invoke(app, ["auth", "token", "--subject", "x", "--scope", "patient/Obs.xx"])
    assert bad.exit_code == 2  # a usage error, not a crash


def test_audit_verify_reports_tampering(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YTESO_HOME", str(tmp_path))
    log = open_security().audit
    for n in range(3):
        log.append({"resourceType": "AuditEvent", "outcome": "0", "n": n})
    runner = CliRunner()
    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0 and "3 records" in intact.output
    log.path.write_text(log.path.read_text().replace('"n":1', '"n":7'))
    tampered = runner.invoke(app, ["audit", "verify"])
    assert tampered.exit_code == 1 and "record 1" in tampered.output


@pytest.mark.parametrize(
    "args",
    [
        ["--db", "postgresql://postgres@127.0.0.1:5432/yteso_test"],
        ["--host", "0.0.0.0"],  # open mode must refuse a public host
    ],
)
def test_insecure_mode_is_refused_off_loopback_or_off_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.setenv("YTESO_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["serve", "--insecure-no-auth", *args])
    assert result.exit_code == 2
    assert "--insecure-no-auth needs" in result.output
