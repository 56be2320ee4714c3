"""Vietnamese names with diacritics: family, middle and given names from weighted tables.

Family-name shares come from ``surnames_vn.csv`` (Lê Trung Hoa's figures); the paired forms
Hoàng/Huỳnh and Vũ/Võ are split by region (the second form is southern). Middle names
Văn (male) and Thị (female) are most common among older people and rarer among the young.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from yteso.synth.reference import population_tables
from yteso.synth.sampling import WeightedChoice, zipf_weights

#: Provinces (2025 codes) from Quảng Ngãi southward, where Huỳnh and Võ replace Hoàng and Vũ.
SOUTHERN_FROM_PROVINCE = "51"


@dataclass(frozen=True, slots=True)
class PersonName:
    family: str
    middle: str
    given: str

    @property
    def text(self) -> str:
        return f"{self.family} {self.middle} {self.given}"


def traditional_middle_share(birth_year: int) -> float:
    """Share of people whose middle name is Văn/Thị, falling for younger cohorts."""
    if birth_year < 1975:
        return 0.62
    if birth_year < 1995:
        return 0.45
    if birth_year < 2010:
        return 0.25
    return 0.12


class NameSampler:
    """Draws names by sex, birth cohort and region."""

    def __init__(self) -> None:
        tables = population_tables()
        names = [name for name, _ in tables["surnames_percent"]]
        weights = [share for _, share in tables["surnames_percent"]]
        self._north: WeightedChoice[str] = WeightedChoice([n.split("/")[0] for n in names], weights)
        self._south: WeightedChoice[str] = WeightedChoice(
            [n.split("/")[-1] for n in names], weights
        )
        self._middle: dict[str, WeightedChoice[str]] = {
            "male": WeightedChoice(*zip(*tables["middle_male"], strict=True)),
            "female": WeightedChoice(*zip(*tables["middle_female"], strict=True)),
        }
        self._given: dict[str, WeightedChoice[str]] = {
            sex: WeightedChoice(given, zipf_weights(len(given)))
            for sex, given in (("male", tables["given_male"]), ("female", tables["given_female"]))
        }

    def family(self, rng: Random, province_code: str) -> str:
        table = self._south if province_code >= SOUTHERN_FROM_PROVINCE else self._north
        return table.pick(rng)

    def person(self, rng: Random, sex: str, birth_year: int, family: str) -> PersonName:
        if rng.random() < traditional_middle_share(birth_year):
            middle = "Văn" if sex == "male" else "Thị"
        else:
            middle = self._middle[sex].pick(rng)
        given = self._given[sex].pick(rng)
        if given == middle:  # "Minh Minh" is not a name people are given
            given = self._given[sex].pick(rng)
        return PersonName(family, middle, given)

    def surname_share(self, surname: str) -> float:
        """Expected share of ``surname`` in the north (pairs merged as in the source)."""
        return self._north.probability(surname)
