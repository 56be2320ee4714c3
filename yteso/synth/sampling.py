"""Fast weighted choice for the generator's inner loops (bisect over cumulative weights)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from random import Random
from typing import Generic, TypeVar

T = TypeVar("T")


class WeightedChoice(Generic[T]):
    """Pick items with probability proportional to their weights, O(log n) per pick."""

    __slots__ = ("_cumulative", "_items", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if len(items) != len(weights) or not items:
            raise ValueError("items and weights must be non-empty and of equal length")
        self._items = tuple(items)
        self._cumulative = list(accumulate(weights))
        self._total = self._cumulative[-1]

    def pick(self, rng: Random) -> T:
        index = bisect_right(self._cumulative, rng.random() * self._total)
        return self._items[min(index, len(self._items) - 1)]

    def probability(self, item: T) -> float:
        """Share of picks that return ``item`` (sums equal items)."""
        previous = 0.0
        share = 0.0
        for candidate, cumulative in zip(self._items, self._cumulative, strict=True):
            if candidate == item:
                share += cumulative - previous
            previous = cumulative
        return share / self._total


def zipf_weights(count: int, offset: float = 3.0) -> list[float]:
    """Decreasing weights for an ordered list of common-first names."""
    return [1.0 / (rank + offset) for rank in range(count)]
