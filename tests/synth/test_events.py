"""Notifiable cases (seasonality, outbreaks), telehealth, deaths and duplicate registrations."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from yteso.fhir.vn_core import CCCD_SYSTEM
from yteso.synth import DEFAULT_AS_OF, SynthReport, generate
from yteso.synth.duplicates import ANSWER_FILE, NOISE_KINDS, strip_diacritics, typo
from yteso.synth.population import Population

DISEASE_CODES = {"dengue": {"A90", "A91"}, "hfmd": {"B08.4"}, "measles": {"B05.9"}}


def ward_of(patient: dict) -> str:
    return patient["address"][0]["extension"][0]["valueCoding"]["code"]


def cases(resources: dict[str, list[dict]], disease: str) -> list[dict]:
    codes = DISEASE_CODES[disease]
    return [c for c in resources["Condition"] if c["code"]["coding"][0]["code"] in codes]


def test_dengue_peaks_in_the_rainy_season(resources: dict[str, list[dict]]) -> None:
    months = Counter(int(c["onsetDateTime"][5:7]) for c in cases(resources, "dengue"))
    rainy = sum(months[m] for m in range(6, 12))
    assert sum(months.values()) > 30
    assert rainy / sum(months.values()) > 0.6


def test_hand_foot_mouth_is_a_disease_of_young_children(resources: dict[str, list[dict]]) -> None:
    births = {
        f"Patient/{p['id']}": date.fromisoformat(p["birthDate"]) for p in resources["Patient"]
    }
    ages = []
    for case in cases(resources, "hfmd"):
        onset = date.fromisoformat(case["onsetDateTime"])
        ages.append((onset - births[case["subject"]["reference"]]).days / 365.25)
    assert ages and max(ages) < 10.5
    assert sum(a < 5 for a in ages) / len(ages) > 0.6


@pytest.mark.parametrize("disease", ["dengue", "hfmd"])
def test_injected_outbreaks_stand_out(
    sample: SynthReport, resources: dict[str, list[dict]], disease: str
) -> None:
    outbreaks = [o for o in Population(sample.people, 7).outbreaks if o.disease == disease]
    assert outbreaks
    residents = Counter(ward_of(p) for p in resources["Patient"])
    wards = {f"Patient/{p['id']}": ward_of(p) for p in resources["Patient"]}
    for outbreak in outbreaks:
        inside = outside = 0
        for case in cases(resources, disease):
            onset = date.fromisoformat(case["onsetDateTime"]).toordinal()
            if outbreak.contains(onset):
                if wards[case["subject"]["reference"]] == outbreak.ward.code:
                    inside += 1
                else:
                    outside += 1
        others = sum(residents.values()) - residents[outbreak.ward.code]
        assert inside >= 3
        assert inside / residents[outbreak.ward.code] > 10 * (outside + 1) / others


def test_telehealth_appointments(small_resources: dict[str, list[dict]]) -> None:
    resources = small_resources
    appointments = resources["Appointment"]
    statuses = Counter(a["status"] for a in appointments)
    assert statuses["fulfilled"] > statuses["noshow"] + statuses["cancelled"]
    assert all(
        a["start"][:10] > DEFAULT_AS_OF.isoformat() for a in appointments if a["status"] == "booked"
    )
    virtual = [e for e in resources["Encounter"] if e["class"]["code"] == "VR"]
    assert len(virtual) == statuses["fulfilled"]
    linked = {e["appointment"][0]["reference"] for e in virtual}
    assert linked == {f"Appointment/{a['id']}" for a in appointments if a["status"] == "fulfilled"}


def test_deaths(small_resources: dict[str, list[dict]]) -> None:
    resources = small_resources
    patients = resources["Patient"]
    dead = [p for p in patients if "deceasedDateTime" in p]
    yearly = len(dead) / len(patients) / 3
    assert 0.003 < yearly < 0.009  # crude death rate ~6 per 1,000 (2024)
    old = sum(DEFAULT_AS_OF.year - int(p["birthDate"][:4]) >= 60 for p in dead)
    assert old / len(dead) > 0.6
    expired = [
        e
        for e in resources["Encounter"]
        if "hospitalization" in e
        and e["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "exp"
    ]
    assert 0.2 < len(expired) / len(dead) < 0.6


@pytest.mark.parametrize(
    ("text", "plain"),
    [("Nguyễn Thị Đào", "Nguyen Thi Dao"), ("Hoàng Văn Hưởng", "Hoang Van Huong")],
)
def test_strip_diacritics(text: str, plain: str) -> None:
    assert strip_diacritics(text) == plain


def test_typo_changes_one_character() -> None:
    import random

    rng = random.Random(1)
    for word in ["Hương", "Dũng", "Thảo", "An"]:
        changed = typo(rng, word)
        assert changed != word and abs(len(changed) - len(word)) <= 1 and changed[0] == word[0]


@pytest.fixture(scope="module")
def with_duplicates(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthReport, SynthReport]:
    root = tmp_path_factory.mktemp("dups")
    return generate(1500, 4, root / "plain"), generate(1500, 4, root / "dups", duplicates=0.1)


def test_duplicates_leave_everyone_else_unchanged(
    with_duplicates: tuple[SynthReport, SynthReport],
) -> None:
    plain, dups = with_duplicates
    for name in plain.counts:
        if name != "Patient":
            assert (plain.out_dir / f"{name}.ndjson").read_bytes() == (
                dups.out_dir / f"{name}.ndjson"
            ).read_bytes()
    kept = [
        line for line in (dups.out_dir / "Patient.ndjson").read_bytes().splitlines(keepends=True)
        if not line.startswith(b'{"resourceType":"Patient","id":"reg-')
    ]  # fmt: skip
    assert b"".join(kept) == (plain.out_dir / "Patient.ndjson").read_bytes()
    assert not (plain.out_dir / ANSWER_FILE).exists()


def test_answer_file_describes_each_duplicate(
    with_duplicates: tuple[SynthReport, SynthReport],
) -> None:
    import orjson

    _, dups = with_duplicates
    patients = {
        p["id"]: p
        for p in map(orjson.loads, (dups.out_dir / "Patient.ndjson").read_bytes().splitlines())
    }
    with (dups.out_dir / ANSWER_FILE).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == dups.duplicates == dups.counts["Patient"] - dups.people
    assert dups.people * 0.07 < len(rows) < dups.people * 0.13
    for row in rows:
        twin, original = patients[row["duplicate_id"]], patients[row["original_id"]]
        noise = row["noise"].split(";") if row["noise"] else []
        assert set(noise) <= set(NOISE_KINDS)
        assert twin["gender"] == original["gender"]
        assert twin["managingOrganization"] != original["managingOrganization"]
        if "no_diacritics" in noise:
            assert twin["name"][0]["text"].isascii()
        if "day_month_swapped" in noise:
            y, m, d = original["birthDate"].split("-")
            assert twin["birthDate"] == f"{y}-{d}-{m}"
        if "no_cccd" in noise:
            assert all(i["system"] != CCCD_SYSTEM for i in twin["identifier"])
        if not noise:
            assert twin["name"] == original["name"] and twin["birthDate"] == original["birthDate"]


def test_rejects_a_share_outside_zero_one(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicates"):
        generate(10, 1, tmp_path, duplicates=1.5)
