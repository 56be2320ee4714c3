"""The MPI thresholds of a live server: ``yteso serve --mpi-auto-link/--mpi-review`` and the
``YTESO_MPI_AUTO_LINK``/``YTESO_MPI_REVIEW`` environment variables (docs/mpi.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from typer.testing import CliRunner, Result

from tests.api.fhir_client import FhirClient, create
from tests.mpi.test_mpi_api import managed, person, read
from yteso.app import mpi_thresholds
from yteso.cli.main import app as cli
from yteso.modules.mpi.records import pair_task_id
from yteso.mpi import Thresholds


@pytest.fixture(autouse=True)
def no_threshold_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("YTESO_MPI_AUTO_LINK", "YTESO_MPI_REVIEW"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("environment", "given", "expected"),
    [
        ({}, (None, None), Thresholds(0.99, 0.9)),
        ({"YTESO_MPI_AUTO_LINK": "0.995"}, (None, None), Thresholds(0.995, 0.9)),
        (
            {"YTESO_MPI_AUTO_LINK": "0.995", "YTESO_MPI_REVIEW": " 0.5 "},
            (None, None),
            Thresholds(0.995, 0.5),
        ),
        ({"YTESO_MPI_AUTO_LINK": "0.995"}, (0.999, 0.8), Thresholds(0.999, 0.8)),  # options win
        ({"YTESO_MPI_REVIEW": ""}, (None, 0.7), Thresholds(0.99, 0.7)),
    ],
)
def test_thresholds_from_options_then_environment(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    given: tuple[float | None, float | None],
    expected: Thresholds,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert mpi_thresholds(*given) == expected


@pytest.mark.parametrize(
    ("environment", "given", "message"),
    [
        (
            {"YTESO_MPI_AUTO_LINK": "high"},
            (None, None),
            "YTESO_MPI_AUTO_LINK='high' is not a number",
        ),
        ({"YTESO_MPI_REVIEW": "0.999"}, (None, None), "review <= auto_link"),
        ({}, (1.5, None), "auto_link <= 1"),
    ],
)
def test_bad_thresholds_are_refused(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    given: tuple[float | None, float | None],
    message: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        mpi_thresholds(*given)


def serve(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *options: str
) -> tuple[Result, Starlette | None]:
    """``yteso serve`` as the CLI runs it, up to the app it would hand to uvicorn."""
    served: list[Starlette] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    monkeypatch.setattr("yteso.cli.main.gc.freeze", lambda: None)
    monkeypatch.setenv("YTESO_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'live.db'}"
    result = CliRunner().invoke(cli, ["serve", "--db", url, "--insecure-no-auth", *options])
    return result, served[0] if served else None


@pytest.mark.parametrize(
    ("environment", "options", "linked"),
    [
        ({}, (), False),  # the defaults, 0.99 / 0.9: queued for review
        ({"YTESO_MPI_AUTO_LINK": "0.9", "YTESO_MPI_REVIEW": "0.5"}, (), True),
        ({}, ("--mpi-auto-link", "0.9", "--mpi-review", "0.5"), True),
    ],
)
def test_live_server_decides_with_the_configured_thresholds(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    environment: dict[str, str],
    options: tuple[str, ...],
    linked: bool,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result, app = serve(monkeypatch, tmp_path, *options)
    assert result.exit_code == 0 and app is not None, result.output
    try:
        with FhirClient(app) as client:
            first = create(client, person())
            # Same name, ward and phone, another birth day: the model scores the pair 0.93.
            second = create(client, person(birthDate="1985-06-09"))
            assert managed(second) == ({f"Patient/{first['id']}"} if linked else set())
            task = read(client, f"Task/{pair_task_id(first['id'], second['id'])}")
            assert task["status"] == ("completed" if linked else "requested")
    finally:
        app.state.store.close()


def test_serve_refuses_bad_thresholds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("YTESO_MPI_REVIEW", "0.995")
    result, app = serve(monkeypatch, tmp_path)
    assert result.exit_code == 2 and app is None
    assert "MPI thresholds" in result.output
    assert not (tmp_path / "live.db").exists()  # refused before the database is opened
