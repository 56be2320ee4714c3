"""Duplicate registrations for identity-matching (MPI) tests, with the truth on the side.

A share of people is registered a second time at another facility (their regional or provincial
hospital) with the kinds of noise seen in Vietnamese registration data: a typing error in the
name, names without diacritics, day and month swapped, no citizen ID, no or another phone, no
insurance card, a different address line. The duplicate's id is opaque; the answer file
``duplicates-answer.csv`` maps it to the original and lists the noise applied.
"""

from __future__ import annotations

import copy
import unicodedata
from random import Random

from yteso.fhir.types import Json
from yteso.fhir.vn_core import BHYT_SYSTEM, CCCD_SYSTEM
from yteso.synth.elements import ref
from yteso.synth.identifiers import mobile_number
from yteso.synth.people import Person, address_line

ANSWER_FILE = "duplicates-answer.csv"
ANSWER_HEADER = "duplicate_id,original_id,noise\n"
NOISE_KINDS = (
    "name_typo", "no_diacritics", "day_month_swapped", "no_cccd", "other_phone", "no_bhyt",
    "other_address_line",
)  # fmt: skip
_ID_MULTIPLIER = 2654435761  # odd: index -> 32-bit value is a bijection


def duplicate_id(index: int, salt: int) -> str:
    return f"reg-{(index * _ID_MULTIPLIER + salt) % (1 << 32):08x}"


def strip_diacritics(text: str) -> str:
    """``Nguyễn Thị Đào`` -> ``Nguyen Thi Dao``."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def typo(rng: Random, word: str) -> str:
    """Delete, double or swap one character (never the first)."""
    if len(word) < 3:
        return word + word[-1]
    at = 1 + int(rng.random() * (len(word) - 2))
    kind = int(rng.random() * 3)
    if kind == 0:
        return word[:at] + word[at + 1 :]
    if kind == 1:
        return word[:at] + word[at] + word[at:]
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def duplicate_patient(
    original: Json, person: Person, rng: Random, salt: int, phone_prefixes: list[str]
) -> tuple[Json, list[str]]:
    """A noisy second registration of ``original`` and the noise kinds applied."""
    twin = copy.deepcopy(original)
    twin["id"] = duplicate_id(person.index, salt)
    hospital = person.regional if rng.random() < 0.6 else person.provincial
    twin["managingOrganization"] = ref("Organization", hospital.organization_id)
    count = 1 + int(rng.random() * 3)
    kinds = sorted(rng.sample(NOISE_KINDS, count), key=NOISE_KINDS.index)
    applied = [kind for kind in kinds if _apply(kind, twin, person, rng, phone_prefixes)]
    return twin, applied


def _apply(kind: str, twin: Json, person: Person, rng: Random, prefixes: list[str]) -> bool:
    name = twin["name"][0]
    if kind == "name_typo":
        name["given"][-1] = typo(rng, name["given"][-1])
    elif kind == "no_diacritics":
        name["family"] = strip_diacritics(name["family"])
        name["given"] = [strip_diacritics(g) for g in name["given"]]
    elif kind == "day_month_swapped":
        year, month, day_of_month = twin["birthDate"].split("-")
        if day_of_month > "12" or day_of_month == month:
            return False
        twin["birthDate"] = f"{year}-{day_of_month}-{month}"
    elif kind in ("no_cccd", "no_bhyt"):
        system = CCCD_SYSTEM if kind == "no_cccd" else BHYT_SYSTEM
        kept = [i for i in twin["identifier"] if i["system"] != system]
        if len(kept) == len(twin["identifier"]) or not kept:
            return False
        twin["identifier"] = kept
    elif kind == "other_phone":
        twin["telecom"] = [
            {"system": "phone", "value": mobile_number(rng, prefixes), "use": "mobile"}
        ]
    else:
        line = address_line(rng, person.ward)
        address = twin["address"][0]
        address["line"] = [line]
        address["text"] = f"{line}, {person.ward.name}, {person.province.name}"
    name["text"] = " ".join([name["family"], *name["given"]])
    return True


def answer_row(duplicate: Json, original: Json, noise: list[str]) -> str:
    return f"{duplicate['id']},{original['id']},{';'.join(noise)}\n"
