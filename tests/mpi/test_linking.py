from __future__ import annotations

from dataclasses import replace

import pytest

from yteso.mpi import LinkSettings, MatchModel, Thresholds, link_population
from yteso.mpi.linking import training_sample


def quality(predicted: set[tuple[str, str]], truth: dict[str, str]) -> tuple[float, float]:
    expected = {tuple(sorted(pair)) for pair in truth.items()}
    hits = len(predicted & expected)
    return hits / max(1, len(predicted)), hits / len(expected)


def test_links_the_synthetic_duplicates(population):
    progress: list[str] = []
    settings = LinkSettings(model_path=population.model_path)
    result = link_population(
        population.patients, settings, lambda stage, done, total: progress.append(stage)
    )
    precision, recall = quality(result.linked_pairs(), population.truth)
    assert precision >= 0.995
    assert recall >= 0.97
    assert {link.rule for link in result.links} == {"cccd", "model"}
    assert result.records == len(population.patients)
    assert {"features", "predict", "cluster"} <= set(progress)
    assert set(result.seconds) == {"features", "model", "predict", "cluster"}


@pytest.mark.parametrize(("auto_link", "links_by_model"), [(1.0, False), (0.9, True)])
def test_auto_link_threshold(population, auto_link, links_by_model):
    settings = LinkSettings(Thresholds(auto_link=auto_link, review=0.5), population.model_path)
    result = link_population(population.features, settings)
    assert any(link.rule == "model" for link in result.links) is links_by_model
    if not links_by_model:
        assert result.reviews


def test_never_joins_two_citizen_ids(population):
    """A CCCD-less record identical to two people with different CCCDs joins at most one."""
    first, second = population.features[0], population.features[1]
    twin = replace(second, id="twin", cccd="001085000001", social_insurance=None)
    bridge = replace(second, id="bridge", cccd=None, social_insurance=None)
    settings = LinkSettings(Thresholds(auto_link=0.5, review=0.1), population.model_path)
    result = link_population([first, second, twin, bridge], settings)
    assert result.clusters["twin"] != result.clusters[second.id]
    assert result.clusters["bridge"] in {result.clusters["twin"], result.clusters[second.id]}
    assert result.reviews


def test_training_sample_keeps_a_person_together(population):
    sample = {f.id for f in training_sample(population.features, 600)}
    assert 400 < len(sample) < 800
    assert all((dup in sample) == (orig in sample) for dup, orig in population.truth.items())


def test_trains_on_a_sample_saves_the_model_and_keeps_the_prior(population, tmp_path):
    path = tmp_path / "model.json"
    settings = LinkSettings(model_path=path, training_sample=900, u_pairs=100_000)
    result = link_population(population.features, settings)
    assert MatchModel.load(path).weights == result.model.weights
    assert abs(result.model.prior_weight - population.model.prior_weight) < 1.0
