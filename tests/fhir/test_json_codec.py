"""Numbers survive a parse/serialise round trip byte for byte (FHIR decimal precision)."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from yteso.fhir import json_codec


@pytest.mark.parametrize(
    "text",
    [
        b'{"v":1.50}',
        b'{"v":1.5}',
        b'{"v":0.10000000000000000555}',
        b'{"v":12345678901234567890.123456789}',
        b'{"v":123456789012345678901234567890}',
        b'{"v":-0.0}',
        b'{"v":1E+5}',
        b'{"v":[1.0,2.00,3]}',
        b'{"v":9223372036854775807}',
        b'{"v":18446744073709551615}',
        b'{"s":"1.50 is text","v":2}',
        b'{"v":["a",1.50]}',
        b"[1.50]",
        b"1.50",
        b'"x:1.50"',
        b'{"a":[{"b":[{"c":1.50}]}],"d":2}',
        b'{"a":[{"b":18446744073709551615}],"c":-9223372036854775808,"d":[[0]]}',
        b'{"a":[[[18446744073709551616]]]}',
    ],
)
def test_round_trip_keeps_every_number(text: bytes) -> None:
    assert json_codec.dumps(json_codec.loads(text)) == text


def test_precise_numbers_become_decimal_and_plain_ones_stay_float() -> None:
    assert json_codec.loads(b'{"v":1.50}')["v"] == Decimal("1.50")
    assert type(json_codec.loads(b'{"v":1.5}')["v"]) is float
    assert (
        json_codec.loads(b'{"v":123456789012345678901234567890}')["v"]
        == 10**29 + 23456789012345678901234567890
    )


@pytest.mark.parametrize(
    "text",
    [b'{ "v" :\n 1.50 }', b'{"v": [ "a" ,\t1.50 ]}', b"[ 1.50 ]", b" 1.50 "],
)
def test_whitespace_before_a_number_does_not_hide_it(text: bytes) -> None:
    assert _holds_decimal(json_codec.loads(text))


def _holds_decimal(value: object) -> bool:
    if isinstance(value, dict):
        return any(_holds_decimal(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_decimal(item) for item in value)
    return isinstance(value, Decimal)


def test_digits_inside_strings_keep_the_fast_path() -> None:
    # "00.000" inside an instant once sent every such resource to the slow parser.
    parsed = json_codec.loads(b'{"issued":"2025-01-01T10:00:00.000+07:00","v":116.3}')
    assert type(parsed["v"]) is float


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        (b'{"a":[{"b":18446744073709551615,"s":"1.50"}],"c":-9223372036854775808}', False),
        (b'{"a":[{"b":[{"c":1.50}]}],"d":2}', True),
        (b'{"a":[[[18446744073709551616]]]}', True),  # beyond 64 bits: orjson gives a float
        (b'[{"a":{}},[],[[1e2]]]', True),
        (b'"2025-01-01T10:00:00.000+07:00"', False),
    ],
)
def test_only_text_holding_a_float_needs_the_number_scan(text: bytes, holds: bool) -> None:
    # loads() scans the text for digits orjson may have lost only when this is true: without
    # a float, every number was an integer orjson read exactly.
    assert json_codec._holds_float(orjson.loads(text)) is holds


def test_malformed_json_still_raises() -> None:
    with pytest.raises(ValueError):
        json_codec.loads(b'{"v":1.50')


def test_non_finite_decimal_is_refused() -> None:
    with pytest.raises(TypeError):
        json_codec.dumps({"v": Decimal("NaN")})


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_any_decimal_text_round_trips(value: Decimal) -> None:
    text = b'{"v":' + str(value).encode() + b"}"
    assert json_codec.dumps(json_codec.loads(text)) == text


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        (b'{"resourceType":"Patient","id":"p","gender":"male"}', True),
        (b'{"v":1.5,"w":[1,2.25]}', True),
        (b'{"v":1.50}', False),  # parsed as Decimal: orjson would write 1.5
        (b'{"v":1E+5}', False),
        (b'{"v": 1}', False),  # not compact
        (b'{"a":1,"a":2}', False),  # a duplicate key: orjson keeps the last
        (b'{"s":"\\u00e9"}', False),  # escaped where orjson writes the character itself
        (b'{"a":[{"b":18446744073709551616}]}', False),
    ],
)
def test_loads_text_parses_as_loads_and_says_when_the_text_is_orjsons_own(
    text: bytes, exact: bool
) -> None:
    value, found = json_codec.loads_text(text)
    assert value == json_codec.loads(text)
    assert type(value) is type(json_codec.loads(text))
    assert found is exact
    assert json_codec.dumps(value) == text or not exact
