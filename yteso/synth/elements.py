"""Small builders for the FHIR datatypes the generator repeats (dates, codings, addresses)."""

from __future__ import annotations

from datetime import date

from yteso.fhir.types import Json
from yteso.fhir.vn_core import WARD_CODE_SYSTEM, WARD_EXTENSION_URL
from yteso.synth.reference import Province, Ward

#: Every generated resource carries this tag: HL7's code for test health data.
SYNTHETIC_TAG: Json = {
    "tag": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "HTEST",
            "display": "test health data",
        }
    ]
}
#: Vietnam is UTC+07:00 all year (no daylight saving).
VN_OFFSET = "+07:00"


_DAYS: dict[int, str] = {}  # ordinal -> ISO date; bounded by the ~40,000 days of a century
_CLOCK = [f"T{m // 60:02d}:{m % 60:02d}:00{VN_OFFSET}" for m in range(24 * 60)]


def day(ordinal: int) -> str:
    text = _DAYS.get(ordinal)
    if text is None:
        text = _DAYS[ordinal] = date.fromordinal(ordinal).isoformat()
    return text


def instant(ordinal: int, minute_of_day: int) -> str:
    """A FHIR dateTime with seconds and the Vietnamese offset."""
    return day(ordinal) + _CLOCK[minute_of_day]


def ref(resource_type: str, resource_id: str) -> Json:
    return {"reference": f"{resource_type}/{resource_id}"}


def concept(system: str, code: str, display: str, text: str | None = None) -> Json:
    return {
        "coding": [{"system": system, "code": code, "display": display}],
        "text": text or display,
    }


def short_name(unit_name: str) -> str:
    """``Phường Ba Đình`` -> ``Ba Đình``; ``Thành phố Hà Nội`` -> ``Hà Nội``."""
    for prefix in ("Thành phố ", "Tỉnh ", "Phường ", "Xã ", "Đặc khu "):
        if unit_name.startswith(prefix):
            return unit_name[len(prefix) :]
    return unit_name


def address(line: str, ward: Ward, province: Province, use: str = "home") -> Json:
    """A Vietnamese two-level address (ward, province) with the ward-code extension."""
    return {
        "extension": [
            {
                "url": WARD_EXTENSION_URL,
                "valueCoding": {
                    "system": WARD_CODE_SYSTEM,
                    "code": ward.code,
                    "display": ward.name,
                },
            }
        ],
        "use": use,
        "type": "both",
        "text": f"{line}, {ward.name}, {province.name}",
        "line": [line],
        "city": ward.name,
        "state": province.name,
        "country": "VN",
    }
