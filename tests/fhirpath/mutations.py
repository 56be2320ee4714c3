"""Random damage to JSON for the robustness tests: one value somewhere replaced by junk."""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from typing import Any


def mutate(
    node: Any, rng: random.Random, junk: Sequence[Any], keep: frozenset[str] = frozenset()
) -> None:
    """Replace a random value of ``node`` (an object or array, changed in place) by a copy of
    one of ``junk``, at this level or, half the time, deeper; a chosen key in ``keep`` is left
    alone and nothing changes."""
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        if key in keep:
            return
        if rng.random() < 0.5 or not isinstance(node[key], (dict, list)):
            node[key] = copy.deepcopy(rng.choice(junk))
        else:
            mutate(node[key], rng, junk, keep)
    elif isinstance(node, list) and node:
        index = rng.randrange(len(node))
        if rng.random() < 0.5 or not isinstance(node[index], (dict, list)):
            node[index] = copy.deepcopy(rng.choice(junk))
        else:
            mutate(node[index], rng, junk, keep)
