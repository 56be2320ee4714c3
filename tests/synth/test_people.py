"""People: identifiers consistent with birth data, and distributions within stated tolerances."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from yteso.fhir.vn_core import BHYT_SYSTEM, CCCD_SYSTEM, WARD_EXTENSION_URL
from yteso.synth import DEFAULT_AS_OF
from yteso.synth.identifiers import cccd, century_sex_digit
from yteso.synth.reference import population_tables, provinces

PREFIXES = {prefix for p in provinces() for prefix in p.cccd_prefixes}
WARD_CODES = {w.code for p in provinces() for w in p.wards}
MOBILE = re.compile(r"^0(3[2-9]|5[2689]|7[06-9]|8[1-689]|9[0-8])\d{7}$")


def identifier(patient: dict, system: str) -> str | None:
    return next((i["value"] for i in patient["identifier"] if i["system"] == system), None)


def age(patient: dict) -> float:
    return (DEFAULT_AS_OF - date.fromisoformat(patient["birthDate"])).days / 365.2425


@pytest.mark.parametrize(
    ("year", "sex", "digit"),
    [
        (1950, "male", 0),
        (1999, "female", 1),
        (2000, "male", 2),
        (2024, "female", 3),
        (2100, "male", 4),
    ],
)
def test_century_sex_digit(year: int, sex: str, digit: int) -> None:
    assert century_sex_digit(year, sex) == digit


def test_cccd_serials_do_not_collide() -> None:
    numbers = {cccd("001", 1990, "male", index, salt=12345) for index in range(50_000)}
    assert len(numbers) == 50_000


def test_cccd_matches_birth_year_and_sex(resources: dict[str, list[dict]]) -> None:
    seen = set()
    for patient in resources["Patient"]:
        number = identifier(patient, CCCD_SYSTEM)
        assert number is not None and len(number) == 12 and number.isdigit()
        year = int(patient["birthDate"][:4])
        assert number[:3] in PREFIXES
        assert int(number[3]) == century_sex_digit(year, patient["gender"])
        assert number[4:6] == f"{year % 100:02d}"
        seen.add(number)
    assert len(seen) == len(resources["Patient"])


def test_bhyt_card_shape_and_coverage(resources: dict[str, list[dict]]) -> None:
    cards = [identifier(p, BHYT_SYSTEM) for p in resources["Patient"]]
    present = [c for c in cards if c]
    assert all(re.fullmatch(r"[A-Z]{2}[1-5]\d{2}\d{10}", c) for c in present)
    assert len(present) / len(cards) == pytest.approx(0.93, abs=0.015)
    children = [identifier(p, BHYT_SYSTEM) for p in resources["Patient"] if age(p) < 6]
    assert all(c.startswith("TE1") for c in children if c)


def test_phones_are_vietnamese_mobiles(resources: dict[str, list[dict]]) -> None:
    phones = [t["value"] for p in resources["Patient"] for t in p.get("telecom", [])]
    assert len(phones) > 0.6 * len(resources["Patient"])
    assert all(MOBILE.match(phone) for phone in phones)


def test_addresses_carry_a_real_ward_code(resources: dict[str, list[dict]]) -> None:
    for patient in resources["Patient"]:
        (extension,) = patient["address"][0]["extension"]
        assert extension["url"] == WARD_EXTENSION_URL
        assert extension["valueCoding"]["code"] in WARD_CODES


def test_sex_ratio(resources: dict[str, list[dict]]) -> None:
    tables = population_tables()
    expected = sum(
        share * male / 100
        for share, male in zip(
            tables["age_bands_percent"], tables["male_share_by_band"], strict=True
        )
    )
    genders = Counter(p["gender"] for p in resources["Patient"])
    assert genders["male"] / sum(genders.values()) == pytest.approx(expected, abs=0.015)
    young = Counter(p["gender"] for p in resources["Patient"] if age(p) < 15)
    assert young["male"] / young["female"] == pytest.approx(1.11, abs=0.08)  # at birth: 111.4


@pytest.mark.parametrize(
    ("low", "high", "percent"), [(0, 15, 23.9), (15, 60, 62.2), (60, 200, 13.9), (80, 200, 1.7)]
)
def test_age_pyramid(resources: dict[str, list[dict]], low: int, high: int, percent: float) -> None:
    ages = [age(p) for p in resources["Patient"]]
    share = 100 * sum(low <= a < high for a in ages) / len(ages)
    assert share == pytest.approx(percent, abs=1.5)


@pytest.mark.parametrize(("surname", "percent"), [("Nguyễn", 38.4), ("Trần", 11.0), ("Lê", 9.5)])
def test_surname_frequencies(
    resources: dict[str, list[dict]], surname: str, percent: float
) -> None:
    names = [p["name"][0]["family"] for p in resources["Patient"]]
    share = 100 * names.count(surname) / len(names)
    assert share == pytest.approx(percent, abs=3.0)  # households share a name: clustered sample


def test_names_have_diacritics_and_sex_specific_middle_names(
    resources: dict[str, list[dict]],
) -> None:
    middles = Counter((p["gender"], p["name"][0]["given"][0]) for p in resources["Patient"])
    assert middles[("male", "Văn")] > 0 and middles[("female", "Thị")] > 0
    assert middles[("male", "Thị")] == 0 and middles[("female", "Văn")] == 0
    texts = [p["name"][0]["text"] for p in resources["Patient"]]
    assert sum(t != t.encode("ascii", "ignore").decode() for t in texts) > 0.9 * len(texts)


def test_every_province_is_populated(resources: dict[str, list[dict]]) -> None:
    states = Counter(p["address"][0]["state"] for p in resources["Patient"])
    assert len(states) == 34
    assert states.most_common(1)[0][0] == "Thành phố Hồ Chí Minh"


def test_every_household_has_an_adult(resources: dict[str, list[dict]]) -> None:
    ages = {f"Patient/{p['id']}": age(p) for p in resources["Patient"]}
    groups = resources["Group"]
    sizes = [g["quantity"] for g in groups]
    assert sum(sizes) == len(resources["Patient"])
    assert 3.2 < sum(sizes) / len(sizes) < 4.0  # mean household size ~3.6
    for group in groups[:-1]:  # the last one takes whoever is left
        assert max(ages[m["entity"]["reference"]] for m in group["member"]) >= 18
