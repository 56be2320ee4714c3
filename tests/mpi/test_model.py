from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from yteso.mpi.comparisons import COMPARISONS, edits_within, levenshtein
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


def test_edits_within_agrees_with_levenshtein_up_to_the_limit():
    rng = random.Random(3)
    words = ["nguyen thi dao", "tran van an", "le anh", "a", "", "pham quynh huong"]
    pairs = [(a, b) for a in words for b in words]
    for _ in range(3000):
        word = rng.choice(words)
        mutated = list(word)
        for _ in range(rng.randrange(4)):
            at = rng.randrange(len(mutated) + 1)
            choice = rng.randrange(3)
            if choice == 0:
                mutated.insert(at, rng.choice("anhx "))
            elif mutated and at < len(mutated):
                if choice == 1:
                    del mutated[at]
                else:
                    mutated[at] = rng.choice("anhx ")
        pairs.append((word, "".join(mutated)))
    for left, right in pairs:
        for limit in (1, 2):
            assert edits_within(left, right, limit) == min(levenshtein(left, right), limit + 1)


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


@pytest.mark.parametrize(
    ("levels", "weights"),
    [
        # capped at both ends
        ([(0.9, 1e-12), (1e-30, 0.5)], [MAX_LEVEL_WEIGHT, -MAX_LEVEL_WEIGHT]),
        # an untrained level (no m) scores like the level below it
        ([(0.5, 0.01), (None, 0.01), (0.25, 0.0625)], [math.log2(50), 2.0, 2.0]),
        # a closer level never scores below a looser one
        (
            [(0.5, 0.001), (1e-9, 0.001), (0.4, 0.1), (0.1, 0.9)],
            [math.log2(500), 2.0, 2.0, math.log2(1 / 9)],
        ),
    ],
)
def test_bounded(levels, weights):
    model = {
        "comparisons": [
            {
                "comparison_levels": [
                    {"is_null_level": True},
                    *(
                        {"u_probability": u} | ({"m_probability": m} if m else {})
                        for m, u in levels
                    ),
                ]
            }
        ]
    }
    out = bounded(model)["comparisons"][0]["comparison_levels"]
    assert [
        math.log2(lv["m_probability"] / lv["u_probability"]) for lv in out[1:]
    ] == pytest.approx(weights)


def test_the_shipped_model_scores_a_second_registration_as_probable(population):
    model = MatchModel.default()
    first = population.features[0]
    again = replace(first, id="again", cccd=None, phone=None)
    stranger = replace(population.features[-1], cccd=None)
    assert model.probability(first, again) > 0.999
    assert model.probability(first, stranger) < 0.5
