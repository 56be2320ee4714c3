"""``yteso mpi link`` and the store's match records on a bulk-loaded population (both DBs)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import drop_pg_schema, fresh_pg_url
from yteso.app import install_mpi
from yteso.cli.main import app
from yteso.fhir.vn_core import CCCD_SYSTEM
from yteso.modules.mpi import link_store, pair_batch
from yteso.modules.mpi.batch import write_pairs
from yteso.modules.mpi.records import GOLDEN_TAG, LINK, NOT_A_MATCH, person_members
from yteso.modules.mpi.registry import decision_of
from yteso.mpi import LinkSettings, MatchModel, ScoredPair, Thresholds, link_population
from yteso.mpi.normalize import patient_features
from yteso.mpi.stored_matching import match_keys
from yteso.store import open_store
from yteso.store.base import SearchParam, SearchQuery
from yteso.store.parallel_prepare import PreparePool
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
    # The records are current now: a second run derives none, unless told to.
    again = CliRunner().invoke(app, [*command, "--auto-link", "0.99"])
    assert "match records rebuilt for 0 patients" in again.output, again.output
    full = CliRunner().invoke(app, [*command, "--auto-link", "0.99", "--full-rebuild"])
    assert f"match records rebuilt for {len(patients):,} patients" in full.output, full.output
    bad = CliRunner().invoke(app, ["mpi", "link", "--db", url, "--backend", "hadoop"])
    assert bad.exit_code != 0
    bad = CliRunner().invoke(app, [*command, "--auto-link", "0.5"])  # below review
    assert bad.exit_code == 2 and "MPI thresholds" in bad.output


@pytest.fixture
def two_store_urls(store_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh databases of one backend."""
    if store_url.startswith("sqlite"):
        yield store_url, f"sqlite:///{tmp_path / 'other.db'}"
        return
    base = store_url.split("?", 1)[0]
    other, schema = fresh_pg_url(base)
    try:
        yield store_url, other
    finally:
        drop_pg_schema(base, schema)


def stored_state(store: Any) -> dict[str, Any]:
    """Every current Patient, Task and Person with its version number, without what differs
    between two runs of the same decisions (meta, times, the Persons' random ids)."""
    current = {t: [s for s in store.iter_current(t)] for t in ("Patient", "Task", "Person")}
    persons = {s.id: s.resource() for s in current["Person"]}
    name = {id: "|".join(person_members(p)) or id for id, p in persons.items()}

    def bare(resource: Json) -> Json:
        drop = ("meta", "id", "authoredOn", "lastModified")
        kept = {k: v for k, v in resource.items() if k not in drop}
        if "note" in kept:
            kept["note"] = [{k: v for k, v in n.items() if k != "time"} for n in kept["note"]]
        return kept

    def person(stored: Any) -> tuple[int, Json]:
        body = bare(stored.resource())
        for link in body.get("link") or []:  # a retired Person names its survivor
            target = link["target"]["reference"]
            if target.startswith("Person/"):
                link["target"] = {"reference": "Person/" + name[target.split("/")[1]]}
        return stored.version, body

    return {
        "patients": {s.id: (s.version, bare(s.resource())) for s in current["Patient"]},
        "tasks": {s.id: (s.version, bare(s.resource())) for s in current["Task"]},
        "persons": sorted(
            (json.dumps(person(s), sort_keys=True) for s in current["Person"]), key=str
        ),
        "counts": store.counts(),
    }


def test_batched_pair_writes_equal_pair_by_pair(
    two_store_urls: tuple[str, str], model_path: Path, monkeypatch: Any
) -> None:
    """The batch writer decides and writes exactly what the registry does pair by pair, from
    a store that already holds links, Persons, a steward's decisions and queued pairs."""
    patients, _ = population(300, 3)
    for patient in patients[::3]:  # records without a CCCD: joins the CCCD rule allows
        kept = [i for i in patient.get("identifier") or [] if i.get("system") != CCCD_SYSTEM]
        patient["identifier"] = kept or [{"system": "urn:test:facility", "value": patient["id"]}]
    thresholds = Thresholds()
    stores = [open_store(url) for url in two_store_urls]
    try:
        registries = [install_mpi(store, model_path, thresholds) for store in stores]
        for store in stores:
            store.bulk_write(patients)
        settings = LinkSettings(thresholds=thresholds, model_path=model_path)
        result = link_population(patients, settings)
        links = result.links
        # Beyond what the linker found: pairs across its persons (persons join and one is
        # retired, or the join would unite two CCCDs and the pair is queued) and pairs to review.
        across = [ScoredPair(a.left, b.right, 0.995, "model") for a, b in pairwise(links[:40])]
        review = [
            ScoredPair(a["id"], b["id"], 0.95, "model") for a, b in pairwise(patients[60:110])
        ]
        # Each pair across next to the links it joins: a record changes twice in a transaction.
        mixed = [pair for two in zip(links, across, strict=False) for pair in two]
        pairs = [*mixed, *links[len(across) :], *result.reviews, *review]
        later = pairs[len(pairs) // 3 :]
        for store, registry in zip(stores, registries, strict=True):
            write_pairs(store, registry, pairs[: len(pairs) // 3], batched=False)
            with store.session() as session:
                registry.decide(session, later[0].left, later[0].right, NOT_A_MATCH, "s", None)
                registry.decide(session, later[1].left, later[1].right, LINK, "s", "same")
                registry.decide(session, pairs[0].left, pairs[0].right, NOT_A_MATCH, "s", None)
        assert stored_state(stores[0]) == stored_state(stores[1])

        # The versions prepared in worker processes, handed over while the pairs are decided.
        monkeypatch.setattr(pair_batch, "SUBMIT_EVERY", 5)
        with PreparePool(2) as pool:
            write_pairs(stores[0], registries[0], pairs, per_transaction=17, pool=pool)
        write_pairs(stores[1], registries[1], pairs, batched=False, per_transaction=17)
        batched, one_by_one = stored_state(stores[0]), stored_state(stores[1])
        assert batched == one_by_one
        assert max(version for version, _ in batched["patients"].values()) >= 3
        decided = Counter(decision_of(task) for _, task in batched["tasks"].values())
        assert decided[LINK] > 0 and decided["pending"] > 0 and decided[NOT_A_MATCH] == 2
        active = [p for _, p in map(json.loads, batched["persons"]) if p["active"]]
        assert max(len(p["link"]) for p in active) >= 4
        assert len(active) < len(batched["persons"])  # some Persons were retired by a join

        # A re-run through the batch writer changes nothing.
        write_pairs(stores[0], registries[0], pairs, batched=True)
        assert stored_state(stores[0]) == batched
    finally:
        for store in stores:
            store.close()
