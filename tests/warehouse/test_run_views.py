"""run_view over each kind of source, the output formats, the CLI, and view errors."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from yteso.cli.main import app
from yteso.fhir.errors import Invalid
from yteso.warehouse import read_view, run_view, run_view_to_file, standard_view_names

PATIENTS = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "name": [{"family": "Lê", "given": ["Thị", "Hoa"]}],
    },
    {"resourceType": "Patient", "id": "p2", "name": [{"family": "Trần"}, {"family": "Nguyễn"}]},
    {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}},
]
VIEW = {
    "resource": "Patient",
    "select": [
        {
            "column": [
                {"name": "id", "path": "id", "type": "id"},
                {"name": "gender", "path": "gender"},
            ]
        },
        {
            "forEach": "name",
            "column": [
                {"name": "family", "path": "family", "type": "string"},
                {"name": "given", "path": "given", "collection": True},
            ],
        },
    ],
}
EXPECTED = [
    {"id": "p1", "gender": "female", "family": "Lê", "given": ["Thị", "Hoa"]},
    {"id": "p2", "gender": None, "family": "Trần", "given": []},
    {"id": "p2", "gender": None, "family": "Nguyễn", "given": []},
]


def _ndjson(path: Path, resources: list[dict[str, Any]]) -> Path:
    data = b"".join(orjson.dumps(r) + b"\n" for r in resources)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def _sources(tmp_path: Path) -> dict[str, Any]:
    folder = tmp_path / "export"
    folder.mkdir()
    _ndjson(folder / "Patient.000.ndjson.gz", PATIENTS[:2])
    _ndjson(folder / "Observation.000.ndjson", PATIENTS[2:])
    parquet = tmp_path / "resources.parquet"
    texts = [orjson.dumps(r).decode() for r in PATIENTS]
    pq.write_table(pa.table({"resource": pa.array(texts)}), parquet)
    return {
        "resources": PATIENTS,
        "ndjson file": _ndjson(tmp_path / "all.ndjson", PATIENTS),
        "folder": folder,
        "parquet": parquet,
    }


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


@pytest.mark.parametrize("engine", ["duckdb", "python"])
@pytest.mark.parametrize("kind", ["resources", "ndjson file", "folder", "parquet"])
def test_sources(kind: str, engine: str, tmp_path: Path) -> None:
    source = _sources(tmp_path)[kind]
    assert _sorted(run_view(VIEW, source, engine=engine)) == _sorted(EXPECTED)


@pytest.mark.parametrize("format", ["csv", "ndjson", "parquet"])
def test_output_formats(format: str, tmp_path: Path) -> None:
    out = tmp_path / f"rows.{format}"
    assert run_view_to_file(VIEW, PATIENTS, out) == 3
    if format == "ndjson":
        rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    elif format == "parquet":
        rows = pq.read_table(out).to_pylist()
    else:
        with out.open(encoding="utf-8") as table:
            rows = [
                {**row, "gender": row["gender"] or None, "given": json.loads(row["given"])}
                for row in csv.DictReader(table)
            ]
    assert _sorted(rows) == _sorted(EXPECTED)


def test_cli_view_run(tmp_path: Path) -> None:
    view = tmp_path / "view.json"
    view.write_text(json.dumps(VIEW), encoding="utf-8")
    source = _ndjson(tmp_path / "in.ndjson", PATIENTS)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["view", "run", str(view), "--source", str(source), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "3 rows" in result.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == "id,gender,family,given"


@pytest.mark.parametrize(
    ("view", "expression"),
    [
        ({"select": []}, "ViewDefinition.resource"),
        (
            {"resource": "Patient", "select": [{"forEach": "name.("}]},
            "ViewDefinition.select[0].forEach",
        ),
        (
            {"resource": "Patient", "select": [{"column": [{"name": "a b", "path": "id"}]}]},
            "ViewDefinition.select[0].column[0]",
        ),
        (
            {"resource": "Patient", "select": [{"column": [{"name": "a", "path": "%x"}]}]},
            "ViewDefinition.select[0].column[0].path",
        ),
        (
            {
                "resource": "Patient",
                "select": [{"column": [{"name": "a", "path": "id"}, {"name": "a", "path": "id"}]}],
            },
            "ViewDefinition",
        ),
    ],
)
def test_invalid_views_name_the_element(view: dict[str, Any], expression: str) -> None:
    with pytest.raises(Invalid) as raised:
        read_view(view)
    assert raised.value.issues[0].expression == (expression,)


def test_standard_views_are_valid() -> None:
    from yteso.warehouse import standard_view

    names = standard_view_names()
    assert {"observation", "patient_demographics"} <= set(names)
    for name in names:
        assert read_view(standard_view(name)).column_names()


def test_materialise_into_a_duckdb_table(tmp_path: Path) -> None:
    import duckdb

    source = _ndjson(tmp_path / "in.ndjson", PATIENTS)
    database = tmp_path / "warehouse.duckdb"
    assert run_view_to_file({**VIEW, "name": "patients"}, source, database) == 3
    with duckdb.connect(str(database)) as connection:
        columns = [row[0] for row in connection.execute("DESCRIBE patients").fetchall()]
        rows = connection.execute(
            "SELECT id, family, given FROM patients ORDER BY family"
        ).fetchall()
    assert columns == ["id", "gender", "family", "given"]
    assert rows == [("p1", "Lê", ["Thị", "Hoa"]), ("p2", "Nguyễn", []), ("p2", "Trần", [])]


@pytest.mark.slow
def test_spark_engine_through_run_view(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    folder = _sources(tmp_path)["folder"]  # gzip NDJSON named after the type
    assert _sorted(run_view(VIEW, folder, engine="spark")) == _sorted(EXPECTED)
    assert _sorted(run_view(VIEW, PATIENTS, engine="spark")) == _sorted(EXPECTED)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["parquet", "parquet folder"])
def test_spark_engine_over_parquet(kind: str, tmp_path: Path) -> None:
    """Spark reads the ``resource`` column and parses it (it once read Parquet as JSON: [])."""
    pytest.importorskip("pyspark")
    parquet = _sources(tmp_path)["parquet"]
    if kind == "parquet folder":
        folder = tmp_path / "parquet"
        folder.mkdir()
        texts = [orjson.dumps(r).decode() for r in PATIENTS]
        for number, text in enumerate(texts):  # one resource per file, mixed types
            pq.write_table(pa.table({"resource": pa.array([text])}), folder / f"{number}.parquet")
        parquet = folder
    assert _sorted(run_view(VIEW, parquet, engine="spark")) == _sorted(EXPECTED)
