"""The batch prediction on Spark (local mode) finds the pairs DuckDB finds, with equal scores."""

from __future__ import annotations

import shutil

import pytest

from yteso.mpi import LinkSettings, Thresholds, link_population

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - Java 17 is installed on CI
    pytest.fail("Spark needs Java on PATH")


def test_spark_backend_agrees_with_duckdb(population) -> None:
    sample = population.features[:200]
    thresholds = Thresholds(auto_link=0.99, review=0.9)
    duck = link_population(sample, LinkSettings(thresholds, model_path=population.model_path))
    spark = link_population(
        sample, LinkSettings(thresholds, model_path=population.model_path, backend="spark")
    )
    assert spark.clusters == duck.clusters
    scores = {(p.left, p.right): p.probability for p in duck.links + duck.reviews}
    assert len(spark.links) == len(duck.links) > 0
    for pair in spark.links + spark.reviews:
        assert scores[(pair.left, pair.right)] == pytest.approx(pair.probability, abs=1e-9)
    with pytest.raises(ValueError, match="unknown linking backend"):
        link_population(sample, LinkSettings(thresholds, population.model_path, backend="hadoop"))
