"""The live store (SQLite or PostgreSQL) as a view's source, on both databases.

run_view over a store URL on every engine, a DuckDB table made from the store, and the CLI. The
store holds an updated resource (only its current version counts), a deleted one (left out)
and another type (filtered out).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from tests.warehouse.test_run_views import EXPECTED, PATIENTS, VIEW
from yteso.cli.main import app
from yteso.fhir.errors import Invalid
from yteso.store import open_store
from yteso.warehouse import run_view, run_view_to_file


@pytest.fixture
def store(store_url: str) -> Iterator[str]:
    """A store holding PATIENTS in their current versions, plus a deleted Patient."""
    opened = open_store(store_url)
    try:
        gone = {"resourceType": "Patient", "id": "gone", "name": [{"family": "X"}]}
        opened.bulk_write([{**PATIENTS[0], "gender": "male"}, *PATIENTS[1:], gone])
        with opened.session() as session:
            session.update(PATIENTS[0])  # the current version is the one EXPECTED shows
            session.delete("Patient", "gone")
    finally:
        opened.close()
    yield store_url


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


@pytest.mark.parametrize("engine", [None, "duckdb", "python"])
def test_run_view_over_the_store(store: str, engine: str | None) -> None:
    assert _sorted(run_view(VIEW, store, engine=engine)) == _sorted(EXPECTED)


@pytest.mark.slow
def test_spark_over_the_store(store: str) -> None:
    pytest.importorskip("pyspark")
    assert _sorted(run_view(VIEW, store, engine="spark")) == _sorted(EXPECTED)


def _table(database: Path, name: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database)) as connection:
        return connection.execute(
            f"SELECT id, family, given FROM {name} ORDER BY family"
        ).fetchall()


STORE_TABLE = [("p1", "Lê", ["Thị", "Hoa"]), ("p2", "Nguyễn", []), ("p2", "Trần", [])]


def test_store_into_a_duckdb_table(store: str, tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    assert run_view_to_file({**VIEW, "name": "patients"}, store, database) == 3
    assert _table(database, "patients") == STORE_TABLE


def test_cli_store_into_a_duckdb_table(store: str, tmp_path: Path) -> None:
    view = tmp_path / "view.json"
    view.write_text(json.dumps({**VIEW, "name": "patients"}), encoding="utf-8")
    database = tmp_path / "out.duckdb"
    arguments = ["view", "run", str(view), "--source", store, "--out", str(database)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "3 rows" in result.output
    assert _table(database, "patients") == STORE_TABLE


def test_a_missing_sqlite_store_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="no SQLite store"):
        run_view(VIEW, f"sqlite:///{tmp_path / 'absent.db'}")
    assert not (tmp_path / "absent.db").exists()  # a source is never created
