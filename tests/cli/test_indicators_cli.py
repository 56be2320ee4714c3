"""``yteso indicators run|show|list`` and ``yteso quality show`` over NDJSON files and over a
store on both databases, in-process through Typer's runner (a process per call costs seconds
on a loaded machine; tests/cli/test_export.py checks the console entry itself)."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import Result
from typer.testing import CliRunner

from tests.warehouse import indicator_data as data
from yteso.cli.main import app
from yteso.store import open_store


def yteso(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _ndjson(folder: Path, resources: list[dict[str, object]]) -> Path:
    folder.mkdir()
    lines: dict[str, list[bytes]] = {}
    for resource in resources:
        lines.setdefault(str(resource["resourceType"]), []).append(orjson.dumps(resource))
    for kind, rows in lines.items():
        (folder / f"{kind}.ndjson").write_bytes(b"\n".join(rows) + b"\n")
    return folder


def test_run_and_show_over_ndjson(tmp_path: Path) -> None:
    source = _ndjson(tmp_path / "export", data.encounter_set())
    state = str(tmp_path / "ind.duckdb")
    shown = yteso("indicators", "show", "telehealth-share", "--state", state)
    assert shown.exit_code == 1 and "yteso indicators run" in shown.stderr
    ran = yteso("indicators", "run", "--source", str(source), "--state", state)
    assert ran.exit_code == 0, ran.output
    assert orjson.loads(ran.stdout)["changed"]["ind_encounter"] == 4
    shown = yteso(
        "indicators", "show", "electronic-record-share", "--by", "facility", "--state", state
    )
    assert shown.exit_code == 0, shown.output
    rows = [orjson.loads(line) for line in shown.stdout.splitlines()]
    assert {(r["facility"], r["numerator"], r["denominator"]) for r in rows} == {
        ("org-1", 1, 2),
        ("org-2", 0, 1),
    }
    report = yteso("indicators", "show", "telehealth-share", "--measure-report", "--state", state)
    assert orjson.loads(report.stdout)["resourceType"] == "MeasureReport"
    bad = yteso("indicators", "show", "telehealth-share", "--by", "district", "--state", state)
    assert bad.exit_code == 1 and "by: unknown disaggregation" in bad.stderr
    listed = yteso("indicators", "list")
    assert "dtp3-coverage\tproportion" in listed.stdout
    assert "patient-cccd-unique\tcheck:uniqueness" in listed.stdout


def test_run_over_the_store(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    try:
        store.bulk_write(data.coverage_set())
    finally:
        store.close()
    state = str(tmp_path / "ind.duckdb")
    ran = yteso("indicators", "run", "--db", store_url, "--state", state)
    assert ran.exit_code == 0, ran.output
    shown = yteso("indicators", "show", "dtp3-coverage", "--period", "year", "--state", state)
    (row,) = [orjson.loads(line) for line in shown.stdout.splitlines()]
    assert (row["period"], row["numerator"], row["denominator"]) == ("2025", 1, 4)
    quality = yteso("quality", "show", "--check", "immunization-vaccine-in-epi", "--state", state)
    (score,) = [orjson.loads(line) for line in quality.stdout.splitlines()]
    assert (score["passed"], score["total"]) == (10, 10)
