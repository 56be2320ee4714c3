"""The regex shortcuts of the primitive and reference checks give the regexes' verdicts.

``primitives._calendar_shaped`` may only say yes where R4's date/dateTime/instant regex matches
(a no falls back to the regex); ``id_shaped`` and ``references._relative_type`` must agree with
their regexes both ways. Seeded edits of typical values reach every branch of the shortcuts.
"""

from __future__ import annotations

import random
import re

import pytest

from yteso.fhir.definitions import type_definition
from yteso.fhir.validation import primitives, references

_CALENDAR_SEEDS = [
    "2021-11-21T09:37:00+07:00",
    "2025-01-01T10:00:00.000+07:00",
    "2021-11-21",
    "0000-01-01",
    "2021-02-29",
    "1999-12-31T23:59:60Z",
    "2021-11-21T09:37:00.5-14:00",
    "2021-11-21T24:00:00Z",
    "2021-11-21T09:37:00+14:00",
    "2021-11-21T09:37:00+13:59",
    "2021-11-21T09:37:00+14:01",
    "2021-11-21T09:37:00.Z",
    "2021",
    "2021-11",
]
_EDIT_CHARS = "0123456789-:T.Z+ 5919234\uff3a\u0663\n"


def _regex(type_name: str) -> re.Pattern[str]:
    definition = type_definition(type_name)
    assert definition is not None and definition.regex is not None
    return re.compile(definition.regex, re.ASCII | re.DOTALL)


def _edited(rnd: random.Random, text: str, alphabet: str) -> str:
    chars = list(text)
    for _ in range(rnd.randint(0, 3)):
        at = rnd.randrange(len(chars) + 1)
        choice = rnd.random()
        if choice < 0.5 and chars:
            chars[min(at, len(chars) - 1)] = rnd.choice(alphabet)
        elif choice < 0.75:
            chars.insert(at, rnd.choice(alphabet))
        elif chars:
            del chars[min(at, len(chars) - 1)]
    return "".join(chars)


@pytest.mark.parametrize("type_name", ["date", "dateTime", "instant"])
def test_calendar_shortcut_says_yes_only_where_the_regex_matches(type_name: str) -> None:
    kind = primitives._CALENDAR_KINDS[type_name]
    regex = _regex(type_name)
    rnd = random.Random(type_name)
    shaped = 0
    for _ in range(40_000):
        text = _edited(rnd, rnd.choice(_CALENDAR_SEEDS), _EDIT_CHARS)
        if primitives._calendar_shaped(text, kind):
            shaped += 1
            assert regex.fullmatch(text), text
    assert shaped > 1_000  # the shortcut does take the common shapes


def test_calendar_shortcut_takes_the_common_shapes() -> None:
    kinds = primitives._CALENDAR_KINDS
    date_time, instant = kinds["dateTime"], kinds["instant"]
    assert primitives._calendar_shaped("2021-11-21T09:37:00+07:00", date_time)
    assert primitives._calendar_shaped("2025-01-01T10:00:00.000Z", instant)
    assert not primitives._calendar_shaped("2021-11-21", instant)  # a day is not an instant


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2021-02-29", True),
        ("2020-02-29", False),
        ("2021-04-31", True),
        ("2021-04-30T10:00:00Z", False),
        ("2021-11-21T24:00:00Z", True),
        ("2021-11-21T09:37:00+14:01", True),
        ("2021-11-21T09:37:00.Z", True),
        ("2021-11", False),
    ],
)
def test_datetime_verdicts(value: str, problem: bool) -> None:
    assert (primitives.primitive_check("dateTime")(value) is not None) is problem


def test_id_shortcut_agrees_with_the_regex() -> None:
    regex = _regex("id")
    rnd = random.Random(7)
    texts = ["pat-0", "a.b", "-", ".", "", "x" * 64, "x" * 65, "\u00e9", "a b", "a_b", "a\n"]
    for _ in range(40_000):
        size = rnd.choice([0, 1, 2, 5, 63, 64, 65])
        texts.append("".join(rnd.choice("aZ09-._/ \u00e9\n\u0663") for _ in range(size)))
    for text in texts:
        assert primitives.id_shaped(text) == bool(regex.fullmatch(text)), text
        for reference in (f"Patient/{text}", f"{text}/x", f"Patient/{text}/_history/1", text):
            match = references._RELATIVE.fullmatch(reference)
            expected = None if match is None else match.group(1)
            assert references._relative_type(reference) == expected, reference
