"""The date rows' shortcut for common shapes gives the general path's values.

``index_builders._common_span`` parses ``2021-11-21`` and ``2021-11-21T09:37:00[.fff][zone]``
by slicing; ``index_values._date_span`` with ``format_instant`` (regex, aware datetimes) is the
reference. Every text either gets the reference's values or is left to the reference (``None``).
"""

from __future__ import annotations

import random

import pytest

from yteso.store.index_builders import _common_span, _period_span, date_rows
from yteso.store.index_values import date_values

_EDGES = [
    "2021-11-21",
    "0001-01-01",
    "9999-12-31",
    "2024-02-29",
    "2023-02-29",
    "2021-13-01",
    "2021-11-21T09:37:00+07:00",
    "2021-11-21T09:37:00-11:30",
    "2021-11-21T09:37:00Z",
    "2021-11-21T09:37:00",
    "2021-11-21T09:37:00.1Z",
    "2021-11-21T09:37:00.12+01:00",
    "2021-11-21T09:37:00.123Z",
    "2021-11-21T09:37:00.1234567Z",
    "2021-11-21T09:37:00.123456789-03:00",
    "2021-11-21T09:37:00.999999999Z",
    "2021-11-21T09:37:00.Z",
    "2021-11-21T09:37:00.12a",
    "2021-11-21T09:37+07:00",
    "2021-11-21T09:37",
    "2021-11-21T24:00:00Z",
    "2021-11-21T09:37:61Z",
    "2021-11-21T09:37:00+99:99",
    "2021-11-21T09:37:00+0700",
    "2021-11-21T09:37:00 +07:00",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00-01:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.998Z",
    "9999-12-31T23:59:59.9995Z",
    "9999-12-31T22:00:00-01:00",
    "9999-12-31",
    "2024-02-29T23:30:00-01:00",
    "2023-12-31T23:59:59.999-00:30",
    "2000-02-29",
    "1900-02-29",
    "2100-02-28T00:00:00+14:00",
    "1969-12-31T23:59:59.5Z",
    "1600-03-01T00:00:00+00:01",
    "0002-01-01T00:00:00+14:00",
    "9998-12-31T23:59:59-14:00",
    "２０２１-11-21",
    "2021-１1-21T09:37:00Z",
    "+021-11-21",
    "2021-11-2",
    "2021",
    "2021-11",
    "",
    "abc",
]


def _reference(text: str) -> tuple[str, str] | None:
    rows = list(date_values("d", [text]))
    return rows[0][2] if rows else None  # type: ignore[return-value]


def _random_texts(count: int) -> list[str]:
    rng = random.Random(11)
    texts = []
    for _ in range(count):
        text = (
            f"{rng.randint(1, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
            f"T{rng.randint(0, 25):02d}:{rng.randint(0, 60):02d}:{rng.randint(0, 61):02d}"
        )
        text += rng.choice(["", ".", ".5", ".25", ".125", ".0001", ".1234567"])
        text += rng.choice(["", "Z", "+07:00", "-14:00", "+00:30", "+7:00"])
        texts.append(text[: rng.choice([10, len(text), len(text)])])
    return texts


def _check(text: str) -> bool:
    """Whether the shortcut took ``text``; asserts it agrees with the reference either way."""
    values = _common_span(text)
    assert values is None or values == _reference(text), text
    out: list[tuple[str, str, tuple[object, ...]]] = []
    date_rows("d", [text], out)
    assert out == list(date_values("d", [text])), text
    return values is not None


@pytest.mark.parametrize("text", _EDGES)
def test_edge_shapes_give_the_reference_values(text: str) -> None:
    _check(text)


def test_random_shapes_give_the_reference_values() -> None:
    """One test over 3,000 random texts (not 3,000 test items); most take the shortcut."""
    taken = sum(_check(text) for text in _random_texts(3000))
    assert taken > 1000


def test_common_shapes_take_the_shortcut() -> None:
    assert _common_span("2021-11-21T09:37:00+07:00") == (
        "2021-11-21T02:37:00.000Z",
        "2021-11-21T02:37:01.000Z",
    )
    assert _common_span("2021-11-21") == ("2021-11-21T00:00:00.000Z", "2021-11-22T00:00:00.000Z")


@pytest.mark.parametrize(
    "period",
    [
        {"start": "2023-01-27T08:00:00+07:00", "end": "2023-01-27T08:30:00+07:00"},
        {"start": "2023-01-27"},
        {"end": "2023-01-27T08:30"},
        {"start": "nonsense", "end": 5},
        {"start": None, "end": "9999-12-31"},
        {"start": "0001-01-01T00:00:00+01:00"},
        {"end": "9999-12-31T23:59:59.9995Z", "extension": []},
    ],
)
def test_periods_give_the_reference_values(period: dict[str, object]) -> None:
    out: list[tuple[str, str, tuple[object, ...]]] = []
    date_rows("d", [period], out)
    assert out == list(date_values("d", [period]))
    assert _period_span(period) == out[0][2]
