from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from yteso.fhir.types import Json
from yteso.mpi import MatchModel, train_model
from yteso.mpi.normalize import PatientFeatures, patient_features
from yteso.synth.generator import build_population


@dataclass(frozen=True)
class Population:
    patients: list[Json]
    features: list[PatientFeatures]
    truth: dict[str, str]  # duplicate id -> original id
    model: MatchModel
    model_path: Path


@pytest.fixture(scope="package")
def population(tmp_path_factory: pytest.TempPathFactory) -> Population:
    """1,500 synthetic people, a fifth registered twice with noise, and a model trained on them."""
    patients: list[Json] = []
    truth: dict[str, str] = {}
    for household in build_population(1500, 11, duplicates=0.2).households():
        patients.extend(r for r in household.resources if r["resourceType"] == "Patient")
        truth.update((row[0], row[1]) for row in csv.reader(household.answers))
    features = [patient_features(p) for p in patients]
    path = tmp_path_factory.mktemp("mpi") / "model.json"
    return Population(patients, features, truth, train_model(features, path, u_pairs=200_000), path)
