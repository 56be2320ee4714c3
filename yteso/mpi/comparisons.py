"""The comparisons of the probabilistic (Fellegi-Sunter) model, each level twice: as Splink SQL
and as a Python predicate, so the batch run (Splink on DuckDB) and the real-time ``MatchIndex``
(pure Python) put a pair in the same level. A differential test holds them together.

https://moj-analytical-services.github.io/splink/topic_guides/comparisons/customising_comparisons.html
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from yteso.mpi.normalize import PatientFeatures

Pair = tuple[PatientFeatures, PatientFeatures]


def levenshtein(left: str, right: str) -> int:
    """Edit distance (insert, delete, substitute), as DuckDB's ``levenshtein``."""
    if len(left) < len(right):
        left, right = right, left
    previous = list(range(len(right) + 1))
    for i, a in enumerate(left, 1):
        current = [i]
        for j, b in enumerate(right, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


NAME_EDIT_LIMIT = 2


@lru_cache(maxsize=4096)
def edits_within(left: str, right: str, limit: int = NAME_EDIT_LIMIT) -> int:
    """``levenshtein(left, right)`` when it is at most ``limit``, else ``limit + 1``.

    Only a band of ``limit`` cells either side of the diagonal can stay within the limit, and a
    row whose cells all exceed it ends the search: a few dozen steps instead of len², which
    keeps real-time matching under its latency budget. Cached: the name levels of one pair ask
    twice.
    """
    if abs(len(left) - len(right)) > limit:
        return limit + 1
    if left == right:
        return 0
    beyond = limit + 1
    previous = [min(j, beyond) for j in range(len(right) + 1)]
    for i, a in enumerate(left, 1):
        low, high = max(1, i - limit), min(len(right), i + limit)
        current = [min(i, beyond)] + [beyond] * len(right)
        for j in range(low, high + 1):
            substitute = previous[j - 1] + (a != right[j - 1])
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitute, beyond)
        if min(current[low - 1 : high + 1]) > limit:
            return beyond
        previous = current
    return previous[-1]


def _edits_at_most(limit: int) -> Callable[[PatientFeatures, PatientFeatures], bool]:
    def within(left: PatientFeatures, right: PatientFeatures) -> bool:
        return edits_within(left.name or "", right.name or "") <= limit

    return within


@dataclass(frozen=True)
class Level:
    label: str
    sql: str
    holds: Callable[[PatientFeatures, PatientFeatures], bool]
    is_null: bool = False

    def splink(self) -> dict[str, object]:
        level: dict[str, object] = {"sql_condition": self.sql, "label_for_charts": self.label}
        if self.is_null:
            level["is_null_level"] = True
        return level


@dataclass(frozen=True)
class Comparison:
    column: str
    levels: tuple[Level, ...]

    def level_of(self, left: PatientFeatures, right: PatientFeatures) -> int:
        """Index of the first level that holds (the last, ``ELSE``, always does)."""
        for index, level in enumerate(self.levels):
            if level.holds(left, right):
                return index
        return len(self.levels) - 1

    def splink(self) -> dict[str, object]:
        return {
            "output_column_name": self.column,
            "comparison_levels": [level.splink() for level in self.levels],
        }


def _null(column: str) -> Level:
    return Level(
        "null",
        f"{column}_l IS NULL OR {column}_r IS NULL",
        lambda left, right: getattr(left, column) is None or getattr(right, column) is None,
        is_null=True,
    )


def _exact(column: str) -> Level:
    return Level(
        "exact",
        f"{column}_l = {column}_r",
        lambda left, right: getattr(left, column) == getattr(right, column),
    )


_ELSE = Level("else", "ELSE", lambda left, right: True)


def _exact_or_not(column: str) -> Comparison:
    return Comparison(column, (_null(column), _exact(column), _ELSE))


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "name",
        (
            _null("name"),
            _exact("name"),
            Level("word order", "name_key_l = name_key_r", lambda a, b: a.name_key == b.name_key),
            Level("one edit", "levenshtein(name_l, name_r) <= 1", _edits_at_most(1)),
            Level("two edits", "levenshtein(name_l, name_r) <= 2", _edits_at_most(2)),
            _ELSE,
        ),
    ),
    Comparison(
        "birth_date",
        (
            _null("birth_date"),
            _exact("birth_date"),
            Level(
                "day and month swapped",
                "birth_key_l = birth_key_r",
                lambda a, b: a.birth_key == b.birth_key,
            ),
            Level(
                "same year",
                "substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4)",
                lambda a, b: (a.birth_date or "")[:4] == (b.birth_date or "")[:4],
            ),
            _ELSE,
        ),
    ),
    _exact_or_not("sex"),
    _exact_or_not("ward"),
    _exact_or_not("phone"),
    _exact_or_not("social_insurance"),
)
