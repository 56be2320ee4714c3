"""Identifier rules for Patient writes: citizen ID (CCCD) and health insurance (BHYT, BHXH).

- CCCD (Law on Identification 2023 Art. 12; Decree 137/2015/ND-CP Art. 13; Circular 07/2016/TT-BCA
  Art. 7): 12 digits = 3-digit province-of-birth code + 1 century/sex digit (0/1 = 1900s
  male/female, 2/3 = 2000s, 4/5 = 2100s, ...) + 2-digit birth year + 6 digits. No check digit.
- BHYT card, 15 characters: 2-letter beneficiary group + benefit level (1-5) + 2-digit province
  + the 10-digit social insurance number (BHXH), which is the person's lifelong number.

Each broken rule is an ``Issue`` with a FHIRPath expression (``Patient.identifier[0].value``) so
the store's validation gate can reject the write with a clear OperationOutcome.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.fhir.vn_core import BHYT_SYSTEM, CCCD_SYSTEM

#: The lifelong 10-digit social insurance number (mã số BHXH); same URL pattern as VN Core.
SOCIAL_INSURANCE_SYSTEM = "http://fhir.hl7.org.vn/core/sid/bhxh"

_CCCD = re.compile(r"\d{12}")
_BHYT = re.compile(r"[A-Z]{2}[1-5]\d{2}\d{10}")
_SOCIAL_INSURANCE = re.compile(r"\d{10}")
_BIRTH_YEAR = re.compile(r"(\d{4})")


@cache
def cccd_province_prefixes() -> dict[str, str]:
    """The 63 province-of-birth prefixes -> province name (generated, see scripts/)."""
    text = resources.files("yteso.fhir").joinpath("data/cccd_provinces.json").read_text("utf-8")
    prefixes: dict[str, str] = json.loads(text)["prefixes"]
    return prefixes


def century_sex_digit(birth_year: int, gender: str | None) -> int:
    """The 4th CCCD digit for a birth year and an administrative gender (male if not female)."""
    return (birth_year // 100 - 19) * 2 + (1 if gender == "female" else 0)


def cccd_problems(value: str, birth_date: str | None, gender: str | None) -> list[str]:
    """Why ``value`` cannot be the CCCD of a person with this birth date and gender."""
    if not _CCCD.fullmatch(value):
        return [f"CCCD must be 12 digits, got {value!r}"]
    problems = []
    if value[:3] not in cccd_province_prefixes():
        problems.append(f"CCCD {value}: unknown province code {value[:3]}")
    year_match = _BIRTH_YEAR.match(birth_date or "")
    if year_match is None:
        return problems
    year = int(year_match.group(1))
    digit = int(value[3])
    if digit // 2 != year // 100 - 19:
        problems.append(f"CCCD {value}: century digit {digit} does not fit birth year {year}")
    elif gender in ("male", "female") and digit != century_sex_digit(year, gender):
        problems.append(f"CCCD {value}: sex digit {digit} does not fit gender {gender}")
    if value[4:6] != f"{year % 100:02d}":
        problems.append(f"CCCD {value}: birth year digits {value[4:6]} do not fit {year}")
    return problems


def bhyt_problems(value: str) -> list[str]:
    if _BHYT.fullmatch(value):
        return []
    return [
        f"BHYT card must be 2 capital letters, a benefit level 1-5, a 2-digit province and "
        f"the 10-digit social insurance number (15 characters), got {value!r}"
    ]


def social_insurance_problems(value: str) -> list[str]:
    if _SOCIAL_INSURANCE.fullmatch(value):
        return []
    return [f"social insurance number must be 10 digits, got {value!r}"]


def check_patient_identifiers(resource: Json) -> list[Issue]:
    """Issues for every CCCD, BHYT or BHXH identifier of a Patient whose value breaks its rules.

    Identifiers of other systems (facility patient numbers, passports) are left alone: their
    formats belong to each issuer.
    """
    if resource.get("resourceType") != "Patient":
        return []
    birth_date, gender = resource.get("birthDate"), resource.get("gender")
    issues: list[Issue] = []
    identifiers = resource.get("identifier")
    if type(identifiers) is not list:
        return []  # a malformed identifier element is the structural validator's to report
    for index, identifier in enumerate(identifiers):
        if type(identifier) is not dict:
            continue
        system, value = identifier.get("system"), identifier.get("value")
        if not isinstance(value, str):
            continue
        if system == CCCD_SYSTEM:
            problems = cccd_problems(value, birth_date, gender)
        elif system == BHYT_SYSTEM:
            problems = bhyt_problems(value)
        elif system == SOCIAL_INSURANCE_SYSTEM:
            problems = social_insurance_problems(value)
        else:
            continue
        expression = (f"Patient.identifier[{index}].value",)
        issues.extend(Issue("error", "value", problem, expression) for problem in problems)
    return issues


def valid_cccd(resource: Json) -> str | None:
    """The Patient's CCCD when it passes every rule (the key for deterministic matching)."""
    birth_date, gender = resource.get("birthDate"), resource.get("gender")
    for identifier in resource.get("identifier") or []:
        value = identifier.get("value")
        if identifier.get("system") == CCCD_SYSTEM and isinstance(value, str):
            return None if cccd_problems(value, birth_date, gender) else value
    return None


def social_insurance_number(resource: Json) -> str | None:
    """The 10-digit BHXH number, from a BHXH identifier or the tail of a BHYT card."""
    for identifier in resource.get("identifier") or []:
        value = identifier.get("value")
        if not isinstance(value, str):
            continue
        system = identifier.get("system")
        if system == SOCIAL_INSURANCE_SYSTEM and not social_insurance_problems(value):
            return value
        if system == BHYT_SYSTEM and not bhyt_problems(value):
            return value[5:]
    return None
