"""Normalised matching fields of a Patient: folded Vietnamese names, birth dates, phones, wards.

Hospitals type the same person as ``Nguyễn Thị Đào``, ``NGUYEN THI DAO`` or ``Đào Nguyễn Thị``
(given name first), swap day and month of birth, and write phones as ``+84 912...`` or ``0912...``.
These functions turn each variant into the same comparable value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from yteso.fhir.types import Json
from yteso.fhir.vn_core import WARD_EXTENSION_URL
from yteso.fhir.vn_identifiers import social_insurance_number, valid_cccd

_NOT_LETTER = re.compile(r"[^a-z0-9 ]+")
_NOT_DIGIT = re.compile(r"\D+")
_BIRTH_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def fold(text: str) -> str:
    """``  Nguyễn Thị  ĐÀO `` -> ``nguyen thi dao``: no diacritics, lower case, single spaces."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text.lower())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_LETTER.sub(" ", letters).split())


def name_tokens(name: Json) -> tuple[str, ...]:
    """Folded words of a HumanName in Vietnamese order (family, middle, given); text if no parts."""
    parts = [name.get("family") or "", *(name.get("given") or [])]
    if not any(parts):
        parts = [name.get("text") or ""]
    return tuple(fold(" ".join(p for p in parts if isinstance(p, str))).split())


def official_name(resource: Json) -> Json:
    names = resource.get("name") or [{}]
    return next((n for n in names if n.get("use") == "official"), names[0])


def birth_date_variants(birth_date: str | None) -> tuple[str, ...]:
    """The date and, when it is a valid date too, the one with day and month swapped."""
    match = _BIRTH_DATE.fullmatch(birth_date or "")
    if match is None:
        return (birth_date,) if birth_date else ()
    year, month, day = match.groups()
    if day == month or int(day) > 12:
        return (birth_date or "",)
    return (f"{year}-{month}-{day}", f"{year}-{day}-{month}")


def birth_key(birth_date: str | None) -> str | None:
    """Blocking key shared by a date and its day/month swap: year + the two numbers sorted."""
    match = _BIRTH_DATE.fullmatch(birth_date or "")
    if match is None:
        return birth_date
    year, month, day = match.groups()
    low, high = sorted((month, day))
    return f"{year}:{low}:{high}"


def normalize_phone(value: str) -> str | None:
    """``+84 912 345 678``, ``84912345678`` and ``0912345678`` -> ``0912345678``."""
    digits = _NOT_DIGIT.sub("", value)
    if digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    elif len(digits) == 9 and not digits.startswith("0"):
        digits = "0" + digits
    return digits if len(digits) == 10 and digits.startswith("0") else None


def first_phone(resource: Json) -> str | None:
    for telecom in resource.get("telecom") or []:
        value = telecom.get("value")
        if telecom.get("system") == "phone" and isinstance(value, str):
            phone = normalize_phone(value)
            if phone:
                return phone
    return None


def ward_code(resource: Json) -> str | None:
    """The 5-digit ward/commune code of the first address with the VN Core ward extension."""
    for address in resource.get("address") or []:
        for extension in address.get("extension") or []:
            if extension.get("url") == WARD_EXTENSION_URL:
                code = (extension.get("valueCoding") or {}).get("code")
                if isinstance(code, str):
                    return code
    return None


@dataclass(frozen=True, slots=True)
class PatientFeatures:
    """The comparable fields of one Patient; ``None`` where the record says nothing."""

    id: str
    cccd: str | None
    social_insurance: str | None
    name: str | None  # folded words in the order given
    name_key: str | None  # folded words sorted: word order does not matter
    family: str | None
    given: str | None  # the last word: the name a person is called by
    birth_date: str | None
    birth_key: str | None
    sex: str | None
    ward: str | None
    phone: str | None

    def row(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in self.__slots__}


def patient_features(resource: Json) -> PatientFeatures:
    tokens = name_tokens(official_name(resource))
    birth_date = resource.get("birthDate")
    gender = resource.get("gender")
    return PatientFeatures(
        id=str(resource.get("id") or ""),
        cccd=valid_cccd(resource),
        social_insurance=social_insurance_number(resource),
        name=" ".join(tokens) or None,
        name_key=" ".join(sorted(tokens)) or None,
        family=tokens[0] if tokens else None,
        given=tokens[-1] if tokens else None,
        birth_date=birth_date if isinstance(birth_date, str) else None,
        birth_key=birth_key(birth_date) if isinstance(birth_date, str) else None,
        sex=gender if gender in ("male", "female") else None,
        ward=ward_code(resource),
        phone=first_phone(resource),
    )
