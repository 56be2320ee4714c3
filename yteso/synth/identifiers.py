"""Vietnamese personal identifiers: citizen ID (CCCD), health insurance (BHYT), mobile phones.

- CCCD (Law on Identification 2023; Decree 137/2015 Art. 13): 3-digit province-of-birth code,
  1 century/sex digit (0/1 = 1900s male/female, 2/3 = 2000s, ...), 2-digit birth year,
  6 digits. No check digit. The 6 digits come from a bijection of the person's index, so two
  people of the same province, sex and birth year never share a number (up to 10^6 of them).
- BHYT card: 2-letter beneficiary group + benefit level digit + 2-digit province code +
  10-digit social insurance number (unique the same way).
- Mobile numbers: 10 digits, ``0`` + a network prefix of the 2018 renumbering + 7 digits.
"""

from __future__ import annotations

from random import Random

#: Network prefixes (after the 2018 renumbering) with rough market shares.
MOBILE_PREFIXES = (
    ("032", 5), ("033", 5), ("034", 5), ("035", 5), ("036", 5), ("037", 5), ("038", 5),
    ("039", 5), ("086", 5), ("096", 6), ("097", 6), ("098", 6), ("081", 3), ("082", 3),
    ("083", 3), ("084", 3), ("085", 3), ("088", 3), ("091", 5), ("094", 5), ("070", 2),
    ("076", 2), ("077", 2), ("078", 2), ("079", 2), ("089", 2), ("090", 4), ("093", 4),
    ("052", 1), ("056", 1), ("058", 1), ("059", 1),
)  # fmt: skip

_CCCD_MULTIPLIER = 7919  # coprime with 10**6: index -> 6 digits is a bijection
_BHXH_MULTIPLIER = 15485863  # coprime with 10**8


def century_sex_digit(birth_year: int, sex: str) -> int:
    """The 4th CCCD digit: 0/1 for 1900s male/female, 2/3 for 2000s, and so on."""
    century = (birth_year // 100) - 19
    return century * 2 + (1 if sex == "female" else 0)


def cccd(birth_prefix: str, birth_year: int, sex: str, index: int, salt: int) -> str:
    serial = (index * _CCCD_MULTIPLIER + salt) % 1_000_000
    return f"{birth_prefix}{century_sex_digit(birth_year, sex)}{birth_year % 100:02d}{serial:06d}"


def bhxh_number(province_code: str, index: int, salt: int) -> str:
    """The lifelong 10-digit social insurance number."""
    return f"{province_code}{(index * _BHXH_MULTIPLIER + salt) % 100_000_000:08d}"


def bhyt_group(rng: Random, age: int) -> tuple[str, int]:
    """Beneficiary group code and benefit level typical for an age."""
    if age < 6:
        return "TE", 1
    if age < 18:
        return "HS", 4
    if age < 22 and rng.random() < 0.5:
        return "SV", 4
    if age >= 80:
        return "BT", 2
    if age >= 60:
        return ("HT", 3) if rng.random() < 0.4 else ("GD", 4)
    roll = rng.random()
    if roll < 0.40:
        return "DN", 4
    if roll < 0.50:
        return "HC", 4
    if roll < 0.56:
        return "HN", 3
    return "GD", 4


def bhyt_card(rng: Random, age: int, province_code: str, index: int, salt: int) -> str:
    group, level = bhyt_group(rng, age)
    return f"{group}{level}{province_code}{bhxh_number(province_code, index, salt)}"


def mobile_number(rng: Random, prefixes: list[str]) -> str:
    return f"{prefixes[int(rng.random() * len(prefixes))]}{rng.randrange(10_000_000):07d}"


def weighted_prefix_pool() -> list[str]:
    """Prefixes repeated by weight, for an O(1) pick."""
    return [prefix for prefix, weight in MOBILE_PREFIXES for _ in range(weight)]
