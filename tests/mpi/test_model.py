from __future__ import annotations

import math
from dataclasses import replace

import pytest

from yteso.mpi.comparisons import COMPARISONS, levenshtein
from yteso.mpi.model import MAX_LEVEL_WEIGHT, MatchModel, bounded, new_linker


@pytest.mark.parametrize(
    ("left", "right", "distance"),
    [
        ("", "", 0),
        ("an", "anh", 1),
        ("hoa", "hao", 2),
        ("nguyen", "ngyuen", 2),
        ("abc", "", 3),
        ("thuy", "thuy", 0),
    ],
)
def test_levenshtein(left, right, distance):
    assert levenshtein(left, right) == distance == levenshtein(right, left)


def test_python_scorer_agrees_with_splink(population):
    """Differential: every pair Splink scores gets the same weight from the pure-Python model."""
    people = population.features[:300]
    people += [
        replace(people[0], id="reordered", name=" ".join(reversed((people[0].name or "").split()))),
        replace(people[1], id="no-name", name=None, name_key=None, family=None, given=None),
        replace(people[2], id="no-birth", birth_date=None, birth_key=None),
        replace(people[3], id="no-sex-ward", sex=None, ward=None),
    ]
    by_id = {f.id: f for f in people}
    # every level of every comparison shows up among people of one ward or one birth year
    settings = dict(population.model.splink_json)
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": rule, "sql_dialect": "duckdb"}
        for rule in ("l.ward = r.ward", "substr(l.birth_date, 1, 4) = substr(r.birth_date, 1, 4)")
    ]
    linker = new_linker(people, settings)
    relation = linker.inference.predict().as_duckdbpyrelation()
    rows = relation.select("id_l, id_r, match_weight, match_probability").fetchall()
    assert len(rows) > 2_000
    levels_seen = set()
    for left, right, weight, probability in rows:
        ours = population.model.match_weight(by_id[left], by_id[right])
        assert ours == pytest.approx(weight, abs=1e-6)
        assert population.model.probability(by_id[left], by_id[right]) == pytest.approx(
            probability, abs=1e-9
        )
        levels_seen.update((c.column, c.level_of(by_id[left], by_id[right])) for c in COMPARISONS)
    assert levels_seen == {(c.column, i) for c in COMPARISONS for i in range(len(c.levels))}


def test_saved_model_round_trips(population):
    loaded = MatchModel.load(population.model_path)
    assert loaded.weights == population.model.weights
    assert len(loaded.weights) == len(COMPARISONS)


def test_trained_weights_make_sense(population):
    weights = dict(zip((c.column for c in COMPARISONS), population.model.weights, strict=True))
    exact, else_ = 1, -1
    for column, levels in weights.items():
        assert levels[0] == 0.0, column  # null level is neutral
        assert levels[exact] > 0 > levels[else_], column
        assert all(abs(w) <= MAX_LEVEL_WEIGHT + 1e-9 for w in levels), column
    assert population.model.prior_weight < 0


def test_bounded_fills_and_caps():
    model = {
        "comparisons": [
            {
                "comparison_levels": [
                    {"is_null_level": True},
                    {"m_probability": 0.9, "u_probability": 1e-12},
                    {"u_probability": 0.01},
                    {"m_probability": 1e-30, "u_probability": 0.5},
                ]
            }
        ]
    }
    levels = bounded(model)["comparisons"][0]["comparison_levels"]
    weights = [math.log2(lv["m_probability"] / lv["u_probability"]) for lv in levels[1:]]
    assert weights == pytest.approx(
        [MAX_LEVEL_WEIGHT, math.log2(levels[1]["m_probability"] / 0.01), -MAX_LEVEL_WEIGHT]
    )
