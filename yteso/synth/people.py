"""People and households: age pyramid, sex by age, names, identifiers, addresses, deaths.

Ages come from the 5-year age pyramid and sex from the male share of each band (see
``scripts/generate_reference_tables.py`` for the sources). A household is a group of people
drawn independently from the pyramid who share an address and a family-name line (children
drawn without an adult join the next household that has one); women of 20 and over keep
their own family name 60% of the time (Vietnamese women keep their maiden name at marriage).
Household composition is deliberately not a demographic model.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from yteso.fhir.types import Json
from yteso.fhir.vn_core import BHYT_SYSTEM, CCCD_SYSTEM
from yteso.synth.elements import SYNTHETIC_TAG, address, day, instant, ref
from yteso.synth.facilities import Facility
from yteso.synth.identifiers import bhyt_card, cccd, mobile_number
from yteso.synth.names import PersonName
from yteso.synth.reference import Province, Ward

HOUSEHOLD_SIZES = ((1, 10), (2, 18), (3, 22), (4, 25), (5, 14), (6, 7), (7, 4))
#: Provinces of the northern mountains, where a rural hamlet is a "Bản".
MOUNTAIN_PROVINCES = frozenset({"04", "08", "11", "12", "14", "15"})
STREETS = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Hùng Vương", "Lê Duẩn", "Phan Chu Trinh", "Nguyễn Trãi", "Điện Biên Phủ", "Trần Phú",
    "Nguyễn Du", "Lê Thánh Tông", "Bà Triệu", "Ngô Quyền", "Phan Đình Phùng", "Võ Thị Sáu",
)  # fmt: skip
INSURED_SHARE = 0.93  # health insurance coverage, 2023 (Viet Nam Social Security, approximate)
PHONE_OWNER_SHARE = 0.92  # of people aged 15+
BIRTH_PROVINCE_STAYERS = 0.85  # share born in the province where they live
#: Annual probability of death by age (approximate shape of Viet Nam's life table).
MORTALITY = ((1, 0.012), (5, 0.001), (15, 0.0004), (40, 0.0012), (60, 0.004), (70, 0.012),
             (80, 0.03), (90, 0.08), (200, 0.18))  # fmt: skip
DAYS_PER_YEAR = 365.2425


@dataclass(slots=True)
class Person:
    id: str
    index: int
    sex: str
    birth: int  # proleptic Gregorian ordinal
    name: PersonName
    ward: Ward
    province: Province
    station: Facility
    regional: Facility
    provincial: Facility
    central: Facility
    household_id: str
    address_line: str
    birth_prefix: str
    death: int | None = None
    insured: bool = True
    phone: str | None = None
    serial: int = 0

    def next_id(self, kind: str) -> str:
        """A deterministic id for this person's next record, e.g. ``pat-12-enc3``."""
        self.serial += 1
        return f"{self.id}-{kind}{self.serial}"

    def alive_on(self, ordinal: int) -> bool:
        return ordinal >= self.birth and (self.death is None or ordinal <= self.death)

    def age_at(self, ordinal: int) -> float:
        return (ordinal - self.birth) / DAYS_PER_YEAR

    @property
    def birth_year(self) -> int:
        return int(day(self.birth)[:4])


def annual_mortality(age: float) -> float:
    for upper, rate in MORTALITY:
        if age < upper:
            return rate
    return MORTALITY[-1][1]


def address_line(rng: Random, ward: Ward) -> str:
    if ward.urban:
        return (
            f"Số {1 + int(rng.random() * 300)}, đường {STREETS[int(rng.random() * len(STREETS))]}"
        )
    if ward.province_code in MOUNTAIN_PROVINCES:
        word = "Bản"
    else:
        word = "Thôn" if ward.province_code <= "46" else "Ấp"
    return f"{word} {1 + int(rng.random() * 15)}"


NATIONAL_ID_TYPE = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
            "code": "NI",
            "display": "National unique individual identifier",
        }
    ]
}


def identifiers(person: Person, rng: Random, as_of: int, salt: int) -> list[Json]:
    """CCCD for everyone (the personal identification number), BHYT for the insured."""
    number = cccd(person.birth_prefix, person.birth_year, person.sex, person.index, salt)
    out: list[Json] = [
        {"use": "official", "type": NATIONAL_ID_TYPE, "system": CCCD_SYSTEM, "value": number}
    ]
    if person.insured:
        card = bhyt_card(rng, int(person.age_at(as_of)), person.province.code, person.index, salt)
        period = {"end": f"{day(as_of)[:4]}-12-31"}
        out.append({"use": "official", "system": BHYT_SYSTEM, "value": card, "period": period})
    return out


def patient_resource(person: Person, rng: Random, as_of: int, salt: int) -> Json:
    identifiers_ = identifiers(person, rng, as_of, salt)
    name = person.name
    patient: Json = {
        "resourceType": "Patient",
        "id": person.id,
        "meta": SYNTHETIC_TAG,
        "identifier": identifiers_,
        "active": True,
        "name": [
            {"use": "official", "text": name.text, "family": name.family,
             "given": [name.middle, name.given]}
        ],
        "gender": person.sex,
        "birthDate": day(person.birth),
        "address": [address(person.address_line, person.ward, person.province)],
        "managingOrganization": ref("Organization", person.station.organization_id),
    }  # fmt: skip
    if person.phone:
        patient["telecom"] = [{"system": "phone", "value": person.phone, "use": "mobile"}]
    if person.death is not None:
        patient["deceasedDateTime"] = instant(person.death, 60 * 6 + int(rng.random() * 900))
    return patient


def household_resource(household_id: str, members: list[Person]) -> Json:
    head = members[0]
    return {
        "resourceType": "Group",
        "id": household_id,
        "meta": SYNTHETIC_TAG,
        "type": "person",
        "actual": True,
        "code": {"text": "Hộ gia đình"},
        "name": f"Hộ {head.name.text}, {head.address_line}, {head.ward.name}",
        "quantity": len(members),
        "member": [{"entity": ref("Patient", m.id)} for m in members],
    }


def assign_phone(person: Person, rng: Random, as_of: int, prefixes: list[str]) -> None:
    if person.age_at(as_of) >= 15 and rng.random() < PHONE_OWNER_SHARE:
        person.phone = mobile_number(rng, prefixes)
