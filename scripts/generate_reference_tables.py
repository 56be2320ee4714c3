"""Build the synthetic-population reference tables under ``yteso/synth/data/``.

Reproducible: run ``.venv/bin/python scripts/generate_reference_tables.py`` from the repo root.
Inputs:
- the ``vietnamadminunits`` package's bundled SQLite file (34 provinces, 3,321 wards/communes
  after 1 July 2025, with codes and centroids); only ``vietnamadminunits.database.query`` is used
  and the network is disabled while it runs, so the package cannot geocode or download;
- ``../shared/ref/vn/*.csv`` (CCCD province prefixes, EPI schedule of Circular 10/2024, notifiable
  diseases of Circular 54/2015, surname shares); see ``../shared/ref/vn/SOURCES.md``;
- the small tables below, each with its source and status (approximations are marked).
Runtime code reads only the JSON written here, never ``../shared``.
"""

from __future__ import annotations

import argparse
import csv
import json
import socket
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED_VN = REPO.parent / "shared" / "ref" / "vn"
OUT = REPO / "yteso" / "synth" / "data"

# Population (thousands) of the 34 provinces formed on 1 July 2025: sums of the 2024 figures of
# the merged provinces as published with Resolution 202/2025/QH15. Used only as sampling
# weights. Status: approximate (rounded; not re-checked against the resolution's annex).
PROVINCE_POPULATION_THOUSANDS = {
    "01": 8718, "04": 547, "08": 1865, "11": 653, "12": 494, "14": 1300, "15": 1779,
    "19": 1799, "20": 813, "22": 1363, "24": 3619, "25": 4023, "31": 4664, "33": 3568,
    "37": 4412, "38": 3760, "40": 3470, "42": 1323, "44": 1871, "46": 1433, "48": 3066,
    "51": 2162, "52": 3584, "56": 2244, "66": 3347, "68": 3873, "75": 4491, "79": 14002,
    "80": 3254, "82": 4370, "86": 4258, "91": 4952, "92": 4200, "96": 2607,
}  # fmt: skip

# Age pyramid, % of population by 5-year band (last band 85+). Anchored on the shared facts
# (0-14: 23.9%, 60+: 13.9%, 1 Apr 2024); the split into bands follows the shape of the 2019
# census pyramid (approximate).
AGE_BANDS_PERCENT = [
    7.4, 8.3, 8.2, 7.0, 6.6, 7.2, 8.0, 8.1, 7.4, 6.7, 6.0, 5.2, 4.6, 3.7, 2.5, 1.4, 0.9, 0.8,
]  # fmt: skip

# Male share by age band: sex ratio at birth 111.4 (shared facts) -> 0.527 for children, then
# female excess with age (2019 census shape; approximate).
MALE_SHARE_BY_BAND = [
    0.527, 0.525, 0.522, 0.515, 0.508, 0.505, 0.503, 0.500, 0.498, 0.494, 0.488, 0.478,
    0.466, 0.452, 0.430, 0.405, 0.375, 0.335,
]  # fmt: skip

# Surnames after the 14 listed in surnames_vn.csv: the CSV's remainder share split over the
# names it lists, Zipf-like by the order given there.
# Middle and given names: common names with relative weights from name-frequency lists
# (approximate; no authoritative national table is published).
MIDDLE_MALE = {
    "Đức": 8, "Minh": 10, "Quang": 7, "Hữu": 6, "Công": 5, "Thành": 5, "Xuân": 4, "Ngọc": 4,
    "Gia": 6, "Hoàng": 5, "Anh": 4, "Tuấn": 3, "Đình": 5, "Trọng": 4, "Duy": 4, "Thanh": 5,
    "Quốc": 5, "Bảo": 5, "Tiến": 3, "Mạnh": 3, "Việt": 3, "Nhật": 3, "Khánh": 3, "Hải": 3,
}  # fmt: skip
MIDDLE_FEMALE = {
    "Ngọc": 10, "Thu": 7, "Thanh": 7, "Kim": 5, "Minh": 5, "Bảo": 6, "Phương": 5, "Hồng": 5,
    "Mai": 4, "Hải": 3, "Diệu": 3, "Khánh": 5, "Quỳnh": 4, "Hoài": 3, "Tuyết": 2, "Thùy": 5,
    "Lan": 3, "Mỹ": 4, "Bích": 3, "Thảo": 3, "Hà": 3, "Yến": 2, "Gia": 4, "Như": 4,
}  # fmt: skip
GIVEN_MALE = [
    "Anh", "Minh", "Hùng", "Dũng", "Tuấn", "Nam", "Hải", "Long", "Hoàng", "Quân", "Phong", "Sơn",
    "Thắng", "Cường", "Hiếu", "Trung", "Đức", "Huy", "Khoa", "Bảo", "Phúc", "Khang", "Thành",
    "Tùng", "Vinh", "Tâm", "Tiến", "Hưng", "Lâm", "Kiên", "Nghĩa", "Toàn", "Đạt", "Thịnh", "Lộc",
    "Tài", "Việt", "Quang", "Bình", "Duy", "Hòa", "Thái", "Khải", "Nhân", "Phát", "An", "Đông",
]  # fmt: skip
GIVEN_FEMALE = [
    "Linh", "Lan", "Hương", "Hoa", "Trang", "Thảo", "Hà", "Mai", "Ngọc", "Anh", "Nhung", "Hằng",
    "Phương", "Thủy", "Yến", "Huyền", "Nga", "Dung", "Oanh", "Vân", "Loan", "Hạnh", "Tuyết", "Nhi",
    "My", "Vy", "Hân", "Ngân", "Chi", "Giang", "Thu", "Quỳnh", "Trâm", "Diệp", "Uyên", "Hồng",
    "Nhàn", "Liên", "Xuân", "Tâm", "Hiền", "Lý", "Châu", "Khánh", "Ánh", "Trinh", "Loan",
]  # fmt: skip

# EPI doses derived from epi_schedule_tt10_2024.csv: (antigen, vaccine) of the CSV row ->
# doses as (dose number, age in days, CVX code, CVX display). Ages where the CSV gives a range
# take its start; rows UNVERIFIED in the CSV keep that status in the output.
EPI_DOSES: dict[tuple[str, str], list[tuple[int, int, str, str]]] = {
    ("Hepatitis B", "monovalent HepB"): [(1, 0, "08", "Hep B, adolescent or pediatric")],
    ("Tuberculosis", "BCG"): [(1, 7, "19", "BCG")],
    ("Diphtheria-Pertussis-Tetanus-HepB-Hib", "DTwP-HepB-Hib (5-in-1; ComBE Five/SII)"): [
        (1, 61, "102", "DTP-Hib-Hep B"),
        (2, 91, "102", "DTP-Hib-Hep B"),
        (3, 122, "102", "DTP-Hib-Hep B"),
    ],
    ("DTP booster", "DTP (whole cell)"): [(4, 548, "01", "DTP")],
    ("Td booster", "reduced-diphtheria Td"): [
        (1, 2557, "139", "Td(adult) unspecified formulation")
    ],
    ("Polio", "bOPV"): [
        (1, 61, "178", "OPV bivalent"),
        (2, 91, "178", "OPV bivalent"),
        (3, 122, "178", "OPV bivalent"),
    ],
    ("Polio", "IPV"): [(1, 152, "10", "IPV"), (2, 274, "10", "IPV")],
    ("Measles", "monovalent measles (MVVAC)"): [(1, 274, "05", "measles")],
    ("Measles-Rubella", "MR (made in VN)"): [(2, 548, "04", "M/R")],
    ("Japanese encephalitis", "inactivated JE (Jevax)"): [
        (1, 365, "39", "Japanese encephalitis SC"),
        (2, 375, "39", "Japanese encephalitis SC"),
        (3, 740, "39", "Japanese encephalitis SC"),
    ],
    ("Rotavirus", "oral Rotavin-M1"): [
        (1, 61, "122", "rotavirus, unspecified formulation"),
        (2, 91, "122", "rotavirus, unspecified formulation"),
    ],
}
# Share of the target cohort vaccinated on time or late, per antigen group (approximate, shaped
# on WHO/UNICEF WUENIC estimates for Viet Nam 2022-2023: BCG ~95%, DTP3/Pol3 ~90%, MCV1 ~90%).
EPI_COVERAGE = {
    "Hepatitis B": 0.85, "Tuberculosis": 0.95, "Diphtheria-Pertussis-Tetanus-HepB-Hib": 0.93,
    "DTP booster": 0.86, "Td booster": 0.80, "Polio": 0.93, "Measles": 0.91,
    "Measles-Rubella": 0.86, "Japanese encephalitis": 0.85, "Rotavirus": 0.70,
}  # fmt: skip
# Schedule changes by date: Td at 7 years and rotavirus came with Circular 10/2024 (1 Aug 2024).
EPI_INTRODUCED = {"Td booster": "2024-08-01", "Rotavirus": "2024-08-01"}

NOTIFIABLE_KEEP = {"Dengue", "Hand-foot-mouth disease", "Measles", "Pertussis", "Rubella"}


def guard_network() -> None:
    """Make any socket use fail: the reference data must come from files only."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("network access attempted while building reference tables")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse


def read_csv(name: str) -> list[dict[str, str]]:
    with (SHARED_VN / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def admin_units() -> dict[str, Any]:
    from vietnamadminunits.database import query

    rows = query(
        "SELECT provinceCode, province, wardCode, ward, wardType, wardLat, wardLon "
        "FROM admin_units ORDER BY provinceCode, wardCode"
    )
    prefixes: dict[str, list[str]] = {}
    for row in read_csv("cccd_province_codes.csv"):
        prefixes.setdefault(row["new_gso_code"], []).append(row["cccd_prefix"])
    provinces: dict[str, dict[str, Any]] = {}
    for row in rows:
        code = row["provinceCode"]
        province = provinces.setdefault(
            code,
            {
                "code": code,
                "name": row["province"],
                "population_thousands": PROVINCE_POPULATION_THOUSANDS[code],
                "cccd_prefixes": sorted(prefixes[code]),
                "wards": [],
            },
        )
        ward = [row["wardCode"], row["ward"], round(row["wardLat"], 4), round(row["wardLon"], 4)]
        province["wards"].append(ward)
    assert len(provinces) == 34, len(provinces)
    assert sum(len(p["wards"]) for p in provinces.values()) == 3321
    return {
        "source": "vietnamadminunits 1.0.4 (admin_units table)",
        "provinces": list(provinces.values()),
    }


def surnames() -> list[list[Any]]:
    out: list[list[Any]] = []
    for row in read_csv("surnames_vn.csv"):
        name, share = row["surname"], row["share_pct"]
        if name.startswith("(others"):
            others = name.split(":", 1)[1].strip(" .)").split()
            others = [o for o in others if o and not o.endswith("...")]
            weights = [1 / (rank + 4) for rank in range(len(others))]
            total = float(share.strip("~"))
            out.extend(
                [o, round(total * w / sum(weights), 3)]
                for o, w in zip(others, weights, strict=True)
            )
        else:
            out.append([name, float(share)])
    return out


def epi_schedule() -> list[dict[str, Any]]:
    doses: list[dict[str, Any]] = []
    for row in read_csv("epi_schedule_tt10_2024.csv"):
        key = (row["antigen"], row["vaccine"])
        for number, age_days, cvx, display in EPI_DOSES.get(key, []):
            doses.append(
                {
                    "antigen": row["antigen"], "vaccine": row["vaccine"], "dose": number,
                    "age_days": age_days, "cvx": cvx, "cvx_display": display,
                    "coverage": EPI_COVERAGE[row["antigen"]],
                    "introduced": EPI_INTRODUCED.get(row["antigen"], "1985-01-01"),
                    "status": row["status"], "source": row["source"],
                }
            )  # fmt: skip
    assert len(doses) == sum(len(v) for v in EPI_DOSES.values()), "a mapped CSV row is missing"
    return sorted(doses, key=lambda d: (d["age_days"], d["antigen"], d["dose"]))


def notifiable() -> list[dict[str, str]]:
    rows = [r for r in read_csv("notifiable_tt54_2015.csv") if r["disease_en"] in NOTIFIABLE_KEEP]
    assert len(rows) == len(NOTIFIABLE_KEEP)
    return [
        {"disease_en": r["disease_en"], "disease_vi": r["disease_vi"], "icd10_printed": r["icd10"],
         "deadline": r["deadline"], "status": r["status"]}
        for r in rows
    ]  # fmt: skip


def write(out: Path, name: str, data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    (out / name).write_text(text + "\n", encoding="utf-8")
    print(f"wrote {out / name} ({len(text):,} chars)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build yteso/synth/data/ reference tables.")
    parser.add_argument(
        "--out", type=Path, default=OUT, help="output folder (default: %(default)s)"
    )
    out: Path = parser.parse_args(argv).out
    guard_network()
    if not SHARED_VN.exists():
        print(f"{SHARED_VN} is absent", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    write(out, "admin_units.json", admin_units())
    write(
        out,
        "population.json",
        {
            "age_bands_percent": AGE_BANDS_PERCENT,
            "male_share_by_band": MALE_SHARE_BY_BAND,
            "surnames_percent": surnames(),
            "middle_male": list(MIDDLE_MALE.items()),
            "middle_female": list(MIDDLE_FEMALE.items()),
            "given_male": GIVEN_MALE,
            "given_female": list(dict.fromkeys(GIVEN_FEMALE)),
        },
    )
    write(out, "epi_schedule.json", epi_schedule())
    write(out, "notifiable.json", notifiable())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
