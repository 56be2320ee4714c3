"""``yteso mpi link`` and the store's match records on a bulk-loaded population (both DBs)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from yteso.app import install_mpi
from yteso.cli.main import app
from yteso.modules.mpi import link_store
from yteso.modules.mpi.records import GOLDEN_TAG, person_members
from yteso.mpi import LinkSettings, MatchModel, Thresholds
from yteso.mpi.normalize import patient_features
from yteso.mpi.stored_matching import match_keys
from yteso.store import open_store
from yteso.store.base import SearchParam, SearchQuery
from yteso.synth.generator import build_population

Json = dict[str, Any]


def population(people: int, seed: int) -> tuple[list[Json], dict[str, str]]:
    patients: list[Json] = []
    truth: dict[str, str] = {}
    for household in build_population(people, seed, duplicates=0.2).households():
        patients.extend(r for r in household.resources if r["resourceType"] == "Patient")
        truth.update((row[0], row[1]) for row in csv.reader(household.answers))
    return patients, truth


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    path = tmp_path / "mpi-model.json"
    path.write_text(json.dumps(MatchModel.default().splink_json), encoding="utf-8")
    return path


def persons(store: Any) -> list[Json]:
    query = SearchQuery(params=(SearchParam("_tag", (f"{GOLDEN_TAG['system']}|golden",)),))
    found = []
    while True:
        result = store.search("Person", query)
        found.extend(m.resource() for m in result.matches)
        if result.next_cursor is None:
            return [p for p in found if p.get("active") is not False]
        query = SearchQuery(params=query.params, cursor=result.next_cursor)


def test_bulk_load_keeps_match_records_and_batch_links(store_url: str, model_path: Path) -> None:
    patients, truth = population(250, 5)
    store = open_store(store_url)
    try:
        registry = install_mpi(store, model_path, Thresholds(0.99, 0.9))
        store.bulk_write(patients)
        # The bulk path wrote every Patient's match record in its transaction.
        some = patients[7]
        found = store.match_candidates(match_keys(patient_features(some)))
        assert some["id"] in {id for id, _ in found}
        assert persons(store) == []  # bulk loads do not link: the batch does

        settings = LinkSettings(thresholds=registry.matcher.thresholds, model_path=model_path)
        stages: set[str] = set()
        report = link_store(store, registry, settings, lambda s, d, t: stages.add(s))
        assert report.records == len(patients) and report.links > 0
        assert {"features", "predict", "cluster", "write"} <= stages
        clusters = [set(person_members(p)) for p in persons(store)]
        person_of = {member: i for i, members in enumerate(clusters) for member in members}
        found_pairs = sum(person_of.get(d, -1) == person_of.get(o, -2) for d, o in truth.items())
        assert found_pairs >= 0.9 * len(truth)
        original = {d: o for d, o in truth.items()}
        for members in clusters:  # no cluster joins two people of the answer file
            assert len({original.get(m, m) for m in members}) == 1, members

        # A second run changes nothing.
        counts = store.counts()
        link_store(store, registry, settings)
        assert store.counts() == counts
    finally:
        store.close()


def test_mpi_link_command(
    store_url: str, tmp_path: Path, model_path: Path, monkeypatch: Any
) -> None:
    patients, truth = population(60, 9)
    url = store_url
    store = open_store(url)
    store.bulk_write(patients)
    store.close()
    monkeypatch.setenv("YTESO_HOME", str(tmp_path))
    command = ["mpi", "link", "--db", url, "--model", str(model_path), "--review", "0.9"]
    result = CliRunner().invoke(app, [*command, "--auto-link", "0.99"])
    assert result.exit_code == 0, result.output
    assert f"{len(patients):,} patients" in result.output
    assert f"match records rebuilt for {len(patients):,} patients" in result.output
    store = open_store(url)
    try:
        assert len(persons(store)) >= 0.9 * len(truth)
    finally:
        store.close()
    bad = CliRunner().invoke(app, ["mpi", "link", "--db", url, "--backend", "hadoop"])
    assert bad.exit_code != 0
    bad = CliRunner().invoke(app, [*command, "--auto-link", "0.5"])  # below review
    assert bad.exit_code == 2 and "MPI thresholds" in bad.output
