"""The probabilistic model: trained with Splink (DuckDB) by expectation maximisation, saved as
Splink's JSON, and read back into a small pure-Python scorer for real-time matching.

Fellegi-Sunter: https://moj-analytical-services.github.io/splink/topic_guides/theory/fellegi_sunter.html
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import cast

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.blocking_rule_library import CustomRule
from splink.comparison_library import CustomComparison

from yteso.mpi.comparisons import COMPARISONS
from yteso.mpi.normalize import PatientFeatures

#: Pairs that both carry a valid CCCD are decided by it (equal: same person; different: not),
#: so the model only scores pairs where at least one side has none.
NO_CCCD_ON_ONE_SIDE = "(l.cccd IS NULL OR r.cccd IS NULL)"
PREDICTION_BLOCKING = (
    f"l.birth_key = r.birth_key AND {NO_CCCD_ON_ONE_SIDE}",
    f"l.name_key = r.name_key AND l.ward = r.ward AND {NO_CCCD_ON_ONE_SIDE}",
    f"l.phone = r.phone AND {NO_CCCD_ON_ONE_SIDE}",
)
TRAINING_BLOCKING = ("l.name_key = r.name_key", "l.birth_key = r.birth_key")
COLUMNS = PatientFeatures.__slots__
MAX_LEVEL_WEIGHT = 20.0
SMALLEST_PROBABILITY = 1e-300  # Splink refuses anything smaller (float64 underflow)


def features_table(features: Sequence[PatientFeatures]) -> pa.Table:
    return pa.table(
        {
            column: pa.array([getattr(f, column) for f in features], pa.string())
            for column in COLUMNS
        }
    )


def splink_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="id",
        comparisons=[CustomComparison(**c.splink()) for c in COMPARISONS],  # type: ignore[arg-type]
        blocking_rules_to_generate_predictions=[CustomRule(r) for r in PREDICTION_BLOCKING],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def new_linker(
    features: Sequence[PatientFeatures], settings: SettingsCreator | dict[str, object]
) -> Linker:
    logging.getLogger("splink").setLevel(logging.WARNING)
    database = DuckDBAPI(connection=duckdb.connect())
    frame = database.register(features_table(features), table_name="patients")
    return Linker(frame, settings, log_level=logging.WARNING)


def train_model(
    features: Sequence[PatientFeatures],
    path: Path,
    *,
    seed: int = 1,
    u_pairs: int = 2_000_000,
    population: int | None = None,
) -> MatchModel:
    """Estimate u from ``u_pairs`` random pairs, the prior from CCCD links, m by EM; save the
    model as Splink's JSON at ``path``.

    ``population``: the size of the whole population when ``features`` is a sample of it. The
    prior (the chance that two random records match) is rescaled: matches grow with the
    number of records, pairs with its square.
    """
    try:
        trained = _trained_settings(features, seed, u_pairs, em=True)
    except ValueError as error:
        # On small samples EM can drive an m to a subnormal float that Splink then refuses;
        # the m then come from the pairs that share a valid CCCD instead.
        if "below the minimum" not in str(error):
            raise
        trained = _trained_settings(features, seed, u_pairs, em=False)
    model = bounded(trained)
    if population and population > len(features):
        prior = cast(float, model["probability_two_random_records_match"])
        model["probability_two_random_records_match"] = prior * len(features) / population
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model, indent=1), encoding="utf-8")
    return MatchModel.from_json(model)


def _trained_settings(
    features: Sequence[PatientFeatures], seed: int, u_pairs: int, *, em: bool
) -> dict[str, object]:
    linker = new_linker(features, splink_settings())
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [CustomRule("l.cccd = r.cccd")], recall=0.7
    )
    training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    if em:
        for rule in TRAINING_BLOCKING:
            training.estimate_parameters_using_expectation_maximisation(CustomRule(rule))
    else:
        training.estimate_m_from_label_column("cccd")
    settings: dict[str, object] = linker.misc.save_model_to_json(out_path=None)
    return settings


def bounded(model: dict[str, object]) -> dict[str, object]:
    """Bound and order the trained weights, so that one field cannot decide alone and a closer
    level never scores below a looser one.

    Each weight is kept within +-``MAX_LEVEL_WEIGHT`` bits: synthetic noise never changes sex or
    ward, real registrations sometimes do, and a -50 bit veto learnt from clean data would hide
    those people. Walking from the loosest level up, each level scores at least as much as the
    level below it: EM sends the m of a level that no true match shows in the training data
    (names written in another word order) to zero, which would make "same words, other order"
    worse than "two typing errors". The m probabilities are rewritten, so Splink and
    ``MatchModel`` still score alike.
    """
    for comparison in cast(list[dict[str, object]], model["comparisons"]):
        levels = cast(list[dict[str, object]], comparison["comparison_levels"])
        floor = -MAX_LEVEL_WEIGHT
        for level in reversed([lv for lv in levels if not lv.get("is_null_level")]):
            m, u = level.get("m_probability"), level.get("u_probability")
            if not isinstance(u, float | int) or not u:
                continue
            weight = math.log2(m / u) if isinstance(m, float | int) and m else floor
            floor = max(floor, min(MAX_LEVEL_WEIGHT, weight))
            level["m_probability"] = max(u * 2.0**floor, SMALLEST_PROBABILITY)
    return model


@dataclass(frozen=True)
class MatchModel:
    """Prior log-odds and one weight (log2 of m/u) per comparison level, in COMPARISONS order."""

    prior_weight: float
    weights: tuple[tuple[float, ...], ...]
    splink_json: dict[str, object]

    @classmethod
    def default(cls) -> MatchModel:
        """The model shipped with the package (trained by ``bench/bench_mpi.py --save-model``
        on a synthetic population); retrain on real data with ``train_model``."""
        text = resources.files("yteso.mpi").joinpath("data/match_model.json").read_text("utf-8")
        return cls.from_json(json.loads(text))

    @classmethod
    def load(cls, path: Path) -> MatchModel:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_json(cls, model: dict[str, object]) -> MatchModel:
        prior = cast(float, model["probability_two_random_records_match"])
        by_column = {
            c["output_column_name"]: c for c in cast(list[dict[str, object]], model["comparisons"])
        }
        weights = tuple(
            tuple(
                _level_weight(level)
                for level in cast(list[dict[str, object]], by_column[c.column]["comparison_levels"])
            )
            for c in COMPARISONS
        )
        return cls(math.log2(prior / (1 - prior)), weights, model)

    def match_weight(self, left: PatientFeatures, right: PatientFeatures) -> float:
        total = self.prior_weight
        for comparison, weights in zip(COMPARISONS, self.weights, strict=True):
            total += weights[comparison.level_of(left, right)]
        return total

    def probability(self, left: PatientFeatures, right: PatientFeatures) -> float:
        return probability_of_weight(self.match_weight(left, right))


def probability_of_weight(weight: float) -> float:
    odds: float = 2.0 ** max(min(weight, 1000.0), -1000.0)
    return odds / (1.0 + odds)


def _level_weight(level: dict[str, object]) -> float:
    if level.get("is_null_level"):
        return 0.0
    m, u = level.get("m_probability"), level.get("u_probability")
    if not isinstance(m, float | int) or not isinstance(u, float | int) or not m or not u:
        return 0.0
    return math.log2(float(m) / float(u))
