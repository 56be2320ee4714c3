"""The committed reference tables (made by ``scripts/generate_reference_tables.py``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class Ward:
    code: str
    name: str
    latitude: float
    longitude: float
    province_code: str

    @property
    def urban(self) -> bool:
        return self.name.startswith("Phường")


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    population_thousands: int
    cccd_prefixes: tuple[str, ...]
    wards: tuple[Ward, ...]


@dataclass(frozen=True, slots=True)
class EpiDose:
    antigen: str
    vaccine: str
    dose: int
    age_days: int
    cvx: str
    cvx_display: str
    coverage: float
    introduced: str
    status: str


def _load(name: str) -> Any:
    text = resources.files("yteso.synth").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def provinces() -> tuple[Province, ...]:
    """The 34 provinces of 1 July 2025 with their wards, in code order."""
    out = []
    for raw in _load("admin_units.json")["provinces"]:
        wards = tuple(Ward(w[0], w[1], w[2], w[3], raw["code"]) for w in raw["wards"])
        out.append(
            Province(
                raw["code"],
                raw["name"],
                raw["population_thousands"],
                tuple(raw["cccd_prefixes"]),
                wards,
            )
        )
    return tuple(out)


@cache
def population_tables() -> dict[str, Any]:
    """Age pyramid, sex ratio by age and name tables."""
    data: dict[str, Any] = _load("population.json")
    return data


@cache
def epi_schedule() -> tuple[EpiDose, ...]:
    """The national EPI schedule (Circular 10/2024) as one row per dose."""
    return tuple(
        EpiDose(
            d["antigen"],
            d["vaccine"],
            d["dose"],
            d["age_days"],
            d["cvx"],
            d["cvx_display"],
            d["coverage"],
            d["introduced"],
            d["status"],
        )
        for d in _load("epi_schedule.json")
    )
