"""The committed reference tables: 34 provinces, 3,321 wards, CCCD prefixes, EPI schedule."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, shared_path
from yteso.synth.reference import epi_schedule, population_tables, provinces


def test_admin_units_after_1_july_2025() -> None:
    all_provinces = provinces()
    assert len(all_provinces) == 34
    wards = [w for p in all_provinces for w in p.wards]
    assert len(wards) == 3321
    assert len({w.code for w in wards}) == 3321
    assert all(len(w.code) == 5 and w.code.isdigit() for w in wards)
    assert all(8 <= w.latitude <= 24 and 102 <= w.longitude <= 118 for w in wards)


def test_every_legacy_cccd_prefix_maps_to_one_new_province() -> None:
    text = shared_path("ref", "vn", "cccd_province_codes.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    mapped = {prefix: p.code for p in provinces() for prefix in p.cccd_prefixes}
    assert mapped == {row["cccd_prefix"]: row["new_gso_code"] for row in rows}
    assert len(mapped) == 63


@pytest.mark.parametrize(
    ("antigen", "doses"),
    [
        ("Hepatitis B", [0]),
        ("Tuberculosis", [7]),
        ("Diphtheria-Pertussis-Tetanus-HepB-Hib", [61, 91, 122]),
        ("Measles", [274]),
        ("Measles-Rubella", [548]),
    ],
)
def test_epi_schedule_ages(antigen: str, doses: list[int]) -> None:
    assert [d.age_days for d in epi_schedule() if d.antigen == antigen] == doses


def test_tables_sum_to_whole() -> None:
    tables = population_tables()
    assert sum(tables["age_bands_percent"]) == pytest.approx(100.0)
    assert sum(share for _, share in tables["surnames_percent"]) == pytest.approx(101.0, abs=0.5)
    assert sum(tables["age_bands_percent"][:3]) == pytest.approx(23.9)  # 0-14, 1 Apr 2024
    assert sum(tables["age_bands_percent"][12:]) == pytest.approx(13.9)  # 60+


def test_committed_tables_are_what_the_script_makes(tmp_path: Path) -> None:
    shared_path("ref", "vn")
    script = REPO / "scripts" / "generate_reference_tables.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True
    )
    committed = REPO / "yteso" / "synth" / "data"
    names = sorted(p.name for p in committed.glob("*.json"))
    assert names == sorted(p.name for p in tmp_path.glob("*.json"))
    for name in names:
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name
