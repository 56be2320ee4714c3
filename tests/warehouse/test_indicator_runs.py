"""Incremental runs equal a full recompute: over synthetic data on DuckDB (NDJSON written by
``yteso.synth``, with changes, additions and deletions), and by the ``_lastUpdated``
watermark; data-quality scores on hand-written data."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.warehouse import indicator_data as data
from yteso.synth import generate, iter_resources
from yteso.warehouse.indicators import IndicatorWarehouse, query_indicator, query_quality

Json = dict[str, Any]


def snapshot(w: IndicatorWarehouse) -> dict[str, list[tuple[Any, ...]]]:
    tables = {
        "aggregates": "SELECT * FROM ind_aggregates",
        "facts": "SELECT * FROM ind_facts",
        "quality": "SELECT * FROM quality_results",
    }
    return {
        name: sorted(w.con.execute(sql).fetchall(), key=lambda row: [str(v) for v in row])
        for name, sql in tables.items()
    }


class ListFeed:
    """A feed over lists: what changed and what was deleted since the last run."""

    def __init__(self, changed: list[Json], deleted: list[tuple[str, str]]) -> None:
        self._changed, self._deleted = changed, deleted

    def changed(self, resource_types: Sequence[str], since: str | None) -> Iterable[Json]:
        return self._changed

    def deleted(
        self, resource_types: Sequence[str], since: str | None
    ) -> Iterable[tuple[str, str]]:
        return self._deleted


def _edits(resources: list[Json]) -> tuple[list[Json], list[Json], list[tuple[str, str]]]:
    """(first load, second batch: new + changed resources, deletions) over a synth sample."""
    first, later = [], []
    for index, resource in enumerate(resources):
        (later if index % 11 == 5 else first).append(resource)
    changed: list[Json] = []
    kinds: dict[str, int] = {}
    twin = next(r for r in first if r["resourceType"] == "Patient")["identifier"][0]["value"]
    for resource in first:
        kind = resource["resourceType"]
        kinds[kind] = kinds.get(kind, 0) + 1
        if kinds[kind] % 17 != 3:
            continue
        edited = copy.deepcopy(resource)
        if kind == "Patient":
            edited["gender"] = "female" if edited["gender"] == "male" else "male"
            edited["birthDate"] = "2023-03-03"
            edited["identifier"][0]["value"] = twin  # now a duplicate citizen
        elif kind == "Immunization":
            edited["status"] = "entered-in-error"
        elif kind == "Encounter":
            edited["class"] = {"code": "VR"}
            edited["period"]["start"] = "2024-12-30T08:00:00+07:00"
        elif kind == "Condition":
            edited["onsetDateTime"] = "2025-08-08"
            edited["code"] = {"coding": [{"code": "A90"}]}
        elif kind == "MedicationRequest":
            edited["status"] = "stopped"
        changed.append(edited)
    gone = [
        (r["resourceType"], r["id"])
        for i, r in enumerate(first)
        if i % 23 == 7
        and r["resourceType"] in ("Patient", "Encounter", "Condition", "DocumentReference")
    ]
    removed = set(gone)  # a feed never lists a deleted resource as changed
    batch = [r for r in later + changed if (r["resourceType"], r["id"]) not in removed]
    return first, batch, gone


def test_incremental_run_equals_a_full_recompute() -> None:
    resources = list(iter_resources(300, 7))
    first, batch, gone = _edits(resources)
    incremental = IndicatorWarehouse()
    full = IndicatorWarehouse()
    try:
        incremental.run(first)
        report = incremental.run(ListFeed(batch, gone))
        final = {(r["resourceType"], r["id"]): r for r in first}
        final.update({(r["resourceType"], r["id"]): r for r in batch})
        for key in gone:
            final.pop(key)
        full.run(list(final.values()))
        assert snapshot(incremental) == snapshot(full)
        assert report.deleted == len(gone) > 0
        # only part of the units was recomputed
        encounters = sum(1 for kind, _ in final if kind == "Encounter")
        assert 0 < report.units["telehealth-share"] < encounters
    finally:
        incremental.close()
        full.close()


def _stamped(resources: Iterable[Json], instant: str) -> list[Json]:
    out = []
    for resource in resources:
        stamped = copy.deepcopy(resource)
        stamped["meta"] = {"versionId": "1", "lastUpdated": instant}
        out.append(stamped)
    return out


def _write(folder: Path, resources: list[Json]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[bytes]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(orjson.dumps(resource))
    for kind, lines in by_type.items():
        (folder / f"{kind}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    return folder


def test_the_watermark_reads_only_what_changed(tmp_path: Path) -> None:
    """An NDJSON export read twice: the second time only the resources stamped after the
    first run's newest ``meta.lastUpdated`` are read, and the result equals a full run."""
    old = _stamped(data.coverage_set(), "2025-06-01T00:00:00Z")
    w = IndicatorWarehouse(tmp_path / "state.duckdb")
    try:
        first = w.run(_write(tmp_path / "one", old))
        assert first.watermark is not None and first.watermark.startswith("2025-06-01")
        new_dose = _stamped(
            [data.dose("i-b3", "pat-b", "102", 3, "2024-05-25")], "2025-06-02T00:00:00Z"
        )
        second = w.run(_write(tmp_path / "two", [*old, *new_dose]))
        assert second.changed["ind_immunization"] == 1
        assert second.changed["ind_patient"] == 0
        rows = w.con.execute(
            "SELECT numerator, denominator FROM ind_aggregates WHERE indicator = 'dtp3-coverage' "
            "AND period_type = 'month' AND period = '2025-01'"
        ).fetchall()
        assert sum(n for n, _ in rows) == 2 and sum(d for _, d in rows) == 2
        again = IndicatorWarehouse()
        try:
            again.run(_write(tmp_path / "three", [*old, *new_dose]))
            assert snapshot(again) == snapshot(w)
        finally:
            again.close()
    finally:
        w.close()


def test_a_changed_definition_is_recomputed(tmp_path: Path) -> None:
    from yteso.warehouse.indicators import read_indicator, shipped_indicators

    shipped = shipped_indicators()
    w = IndicatorWarehouse(tmp_path / "s.duckdb", indicators=shipped, checks={})
    w.run(data.encounter_set())
    w.close()
    source = copy.deepcopy(shipped["telehealth-share"].source)
    source["numerator"]["where"][0]["value"] = "AMB"
    changed = {**shipped, "telehealth-share": read_indicator(source)}
    w = IndicatorWarehouse(tmp_path / "s.duckdb", indicators=changed, checks={})
    try:
        w.run([])  # nothing new, but the definition changed
        row = w.con.execute(
            "SELECT sum(numerator), sum(denominator) FROM ind_aggregates "
            "WHERE indicator = 'telehealth-share' AND period_type = 'year'"
        ).fetchone()
        assert row == (2, 3)  # e1 and e3 are AMB (e4 is cancelled)
    finally:
        w.close()


def test_over_synth_ndjson(tmp_path: Path) -> None:
    """The whole set over `yteso synth` output: every indicator has rows, values in range."""
    generate(150, 3, tmp_path / "synth")
    w = IndicatorWarehouse()
    try:
        report = w.run(tmp_path / "synth")
        assert report.changed["ind_patient"] == 150
        rows = w.con.execute(
            "SELECT indicator, sum(numerator), sum(denominator) FROM ind_aggregates "
            "WHERE period_type = 'year' GROUP BY indicator"
        ).fetchall()
        totals = {name: (n, d) for name, n, d in rows}
        assert set(totals) == set(w.indicators)
        for name, (n, d) in totals.items():
            assert 0 <= n <= d or w.indicators[name].kind == "rate", name
        assert totals["telehealth-share"][0] > 0
        assert totals["electronic-record-share"][0] > 0
    finally:
        w.close()


def quality_set() -> list[Json]:
    """org-1: three patients, two sharing a CCCD; org-2: one patient without a birth date.
    One vaccination recorded 10 days late; one encounter whose patient does not exist."""
    late = data.dose("i-1", "pat-a", "102", 1, "2025-01-01T08:00:00+07:00")
    late["recorded"] = "2025-01-11T08:00:00+07:00"
    no_birth = data.patient("pat-d", "2000-01-01", "male", org="org-2", serial=4)
    del no_birth["birthDate"]
    return [
        data.patient("pat-a", "2024-01-01", "male", serial=1),
        data.patient("pat-b", "2024-01-01", "male", serial=1),
        data.patient("pat-c", "2024-01-01", "male", serial=3),
        no_birth,
        late,
        data.dose("i-2", "pat-b", "102", 1, "2025-01-01T08:00:00+07:00"),
        data.encounter("e1", "pat-a", "AMB", "2025-01-10T08:00:00+07:00", "org-1"),
        data.encounter("e2", "pat-x", "AMB", "2025-01-10T08:00:00+07:00", "org-1"),
    ]


@pytest.fixture
def quality_warehouse() -> Iterable[IndicatorWarehouse]:
    w = IndicatorWarehouse()
    w.run(quality_set())
    yield w
    w.close()


def _scores(rows: list[Json], *keys: str) -> dict[tuple[Any, ...], tuple[int, int]]:
    return {tuple(r[k] for k in keys): (r["passed"], r["total"]) for r in rows}


def test_quality_scores_by_facility(quality_warehouse: IndicatorWarehouse) -> None:
    w = quality_warehouse
    unique = query_quality(w, period=None, by=["facility"], check="patient-cccd-unique")
    assert _scores(unique, "facility") == {("org-1",): (1, 3), ("org-2",): (1, 1)}
    assert unique[0]["score"] == pytest.approx(33.33)
    birth = query_quality(w, period=None, by=["facility"], check="patient-birth-date-present")
    assert _scores(birth, "facility") == {("org-1",): (3, 3), ("org-2",): (0, 1)}
    timely = query_quality(w, period="month", by=[], check="immunization-recorded-timely")
    assert _scores(timely, "period_start") == {("2025-01-01",): (1, 2)}
    resolves = query_quality(w, period=None, by=[], dimension="consistency")
    assert _scores(resolves, "check")[("encounter-subject-resolves",)] == (1, 2)


def test_quality_bad_parameters(quality_warehouse: IndicatorWarehouse) -> None:
    from yteso.fhir.errors import Invalid

    with pytest.raises(Invalid, match="check: unknown check"):
        query_quality(quality_warehouse, check="nope")
    with pytest.raises(Invalid, match="by: unknown disaggregation 'sex'"):
        query_quality(quality_warehouse, by=["sex"])


def test_a_moved_patient_moves_the_population_of_every_week() -> None:
    """pat-e moves from Huế to Hà Nội and a newborn arrives in Hà Nội on 15 January: the
    population of the case-free week 3 changes too (Hà Nội 2 -> 4, Huế 2 -> 1)."""
    w = IndicatorWarehouse(checks={})
    try:
        w.run(data.notifiable_set())
        moved = data.patient("pat-e", "2000-01-01", "female", org="org-1")
        born = data.patient("pat-f", "2025-01-15", "male")
        w.run([moved, born])
        weekly = query_indicator(w, "notifiable-cases", period="week", by=["province"])
        by_week = {(r["period"], r["province"]): (r["numerator"], r["denominator"]) for r in weekly}
        assert by_week[("2025-W02", "Hà Nội")] == (2, 3)  # a, b, e (f not born yet)
        assert by_week[("2025-W03", "Hà Nội")] == (0, 4)
        assert by_week[("2025-W03", "Huế")] == (0, 1)
        assert by_week[("2025-W04", "Huế")] == (1, 1)
        fresh = IndicatorWarehouse(checks={})
        try:
            final = {r["id"]: r for r in data.notifiable_set()}
            final.update({"pat-e": moved, "pat-f": born})
            fresh.run(list(final.values()))
            assert snapshot(fresh) == snapshot(w)
        finally:
            fresh.close()
    finally:
        w.close()
