"""The match-record rebuild before a batch link derives only what is missing or stale (both
DBs): rows keep the Patient version they were derived from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.mpi.test_mpi_batch import population
from yteso.app import install_mpi
from yteso.modules.mpi.batch import write_pairs
from yteso.mpi import MatchModel, ScoredPair, Thresholds
from yteso.mpi.normalize import patient_features
from yteso.mpi.stored_matching import features_text
from yteso.store import open_store


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    path = tmp_path / "mpi-model.json"
    path.write_text(json.dumps(MatchModel.default().splink_json), encoding="utf-8")
    return path


def versions(store: Any) -> dict[str, int | None]:
    with store.backend.reading() as db:
        return {str(i): v for i, v in db.rows("SELECT id, version FROM match_record")}


def test_rebuild_derives_only_missing_and_stale_records(store_url: str, model_path: Path) -> None:
    patients, truth = population(40, 3)
    store = open_store(store_url)
    try:
        install_mpi(store, model_path, Thresholds(0.99, 0.9))
        store.bulk_write(patients)
        # The bulk load wrote every record at version 1: nothing to rebuild.
        assert set(versions(store).values()) == {1}
        assert store.rebuild_match_records() == 0
    finally:
        store.close()

    # Another process without the MPI's hooks writes: a new Patient, a renamed one, a deleted
    # one. Their rows are now missing, stale and orphaned.
    plain = open_store(store_url)
    renamed, deleted = patients[0], patients[1]
    try:
        with plain.session() as session:
            session.create({**patients[2], "id": "newcomer"}, id="newcomer")
            session.update({**renamed, "name": [{"family": "Trần", "given": ["Thị", "Mới"]}]})
            session.delete("Patient", deleted["id"])
    finally:
        plain.close()

    store = open_store(store_url)
    try:
        install_mpi(store, model_path, Thresholds(0.99, 0.9))
        assert store.rebuild_match_records() == 2  # the newcomer and the renamed record
        rows = versions(store)
        assert rows["newcomer"] == 1 and rows[renamed["id"]] == 2
        assert deleted["id"] not in rows
        assert len(rows) == len(patients)
        renamed_now = store.read("Patient", renamed["id"]).resource()
        assert store.match_features(renamed["id"]) == features_text(patient_features(renamed_now))
        assert store.rebuild_match_records() == 0

        # Links written by the batch bump Patient versions without touching their features:
        # the rows move to the new versions and stay current.
        registry = install_mpi(store, model_path, Thresholds(0.99, 0.9))
        duplicate, original = next(
            (d, o) for d, o in truth.items() if deleted["id"] not in (d, o) and d in rows
        )
        write_pairs(store, registry, [ScoredPair(duplicate, original, 0.999, "model")])
        assert store.read("Patient", duplicate).version == rows[duplicate] + 1
        assert versions(store)[duplicate] == rows[duplicate] + 1
        assert store.rebuild_match_records() == 0

        # ``full`` derives every record again.
        assert store.rebuild_match_records(full=True) == len(patients)
        assert versions(store) == {s.id: s.version for s in store.iter_current("Patient")}
    finally:
        store.close()
