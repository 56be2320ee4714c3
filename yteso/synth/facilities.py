"""Health facilities: central, provincial and regional hospitals, commune health stations.

Each facility is an Organization and a Location (with the ward's centroid as position) and has
a few practitioners with PractitionerRoles. Codes are stable whatever the population size:
they come from the full ward list, and each facility's staff from a seed of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from random import Random

from yteso.fhir.types import Json
from yteso.fhir.vn_core import FACILITY_CODE_SYSTEM, PRACTITIONER_LICENSE_SYSTEM
from yteso.synth.elements import SYNTHETIC_TAG, address, concept, ref, short_name
from yteso.synth.names import NameSampler
from yteso.synth.reference import Province, Ward

#: Central (national) hospitals: (province code, name, region served).
CENTRAL_HOSPITALS = (
    ("01", "Bệnh viện Bạch Mai", "north"),
    ("01", "Bệnh viện Hữu nghị Việt Đức", "north"),
    ("01", "Bệnh viện Nhi Trung ương", "north"),
    ("19", "Bệnh viện Trung ương Thái Nguyên", "north"),
    ("46", "Bệnh viện Trung ương Huế", "central"),
    ("48", "Bệnh viện Đa khoa Trung ương Quảng Nam", "central"),
    ("79", "Bệnh viện Chợ Rẫy", "south"),
    ("79", "Bệnh viện Thống Nhất", "south"),
    ("92", "Bệnh viện Đa khoa Trung ương Cần Thơ", "south"),
)
STAFF_BY_LEVEL = {"central": 6, "provincial": 6, "regional": 3, "station": 2}
WARDS_PER_REGIONAL_HOSPITAL = 30
LOCATION_TYPE = {
    "central": ("HOSP", "Hospital"),
    "provincial": ("HOSP", "Hospital"),
    "regional": ("HOSP", "Hospital"),
    "station": ("PC", "primary care clinic"),
}


def region_of(province_code: str) -> str:
    if province_code <= "42":
        return "north"
    return "central" if province_code <= "68" else "south"


@dataclass(frozen=True, slots=True)
class Facility:
    code: str
    name: str
    level: str  # central | provincial | regional | station
    ward: Ward
    province: Province

    @property
    def organization_id(self) -> str:
        return f"org-{self.code}"

    @property
    def location_id(self) -> str:
        return f"loc-{self.code}"

    def practitioner_id(self, number: int) -> str:
        return f"prac-{self.code}-{number}"

    @property
    def staff(self) -> int:
        return STAFF_BY_LEVEL[self.level]


@dataclass(frozen=True, slots=True)
class CareNetwork:
    """Which facility serves each ward at each level."""

    station: dict[str, Facility]
    regional: dict[str, Facility]
    provincial: dict[str, Facility]
    central: dict[str, tuple[Facility, ...]]

    def for_ward(self, ward: Ward) -> tuple[Facility, Facility, Facility, Facility]:
        """(station, regional hospital, provincial hospital, a central hospital) for a ward."""
        central = self.central[region_of(ward.province_code)]
        return (
            self.station[ward.code],
            self.regional[ward.code],
            self.provincial[ward.province_code],
            central[int(ward.code) % len(central)],
        )


def regional_hospitals(province: Province) -> dict[str, Facility]:
    """One regional hospital per ~30 wards (in code order), seated in the middle ward."""
    hospitals = -(-len(province.wards) // WARDS_PER_REGIONAL_HOSPITAL)
    chunk = -(-len(province.wards) // hospitals)
    by_ward: dict[str, Facility] = {}
    for start in range(0, len(province.wards), chunk):
        wards = province.wards[start : start + chunk]
        seat = wards[len(wards) // 2]
        hospital = Facility(
            f"{province.code}{10 + start // chunk:03d}",
            f"Bệnh viện Đa khoa khu vực {short_name(seat.name)}",
            "regional",
            seat,
            province,
        )
        by_ward.update((ward.code, hospital) for ward in wards)
    return by_ward


def build_network(provinces: tuple[Province, ...]) -> CareNetwork:
    by_code = {p.code: p for p in provinces}
    station: dict[str, Facility] = {}
    regional: dict[str, Facility] = {}
    provincial: dict[str, Facility] = {}
    central: dict[str, list[Facility]] = {"north": [], "central": [], "south": []}
    for number, (code, name, region) in enumerate(CENTRAL_HOSPITALS, start=1):
        province = by_code[code]
        central[region].append(
            Facility(f"{code}9{number:02d}", name, "central", province.wards[0], province)
        )
    for province in provinces:
        provincial[province.code] = Facility(
            f"{province.code}001",
            f"Bệnh viện Đa khoa {short_name(province.name)}",
            "provincial",
            province.wards[0],
            province,
        )
        regional.update(regional_hospitals(province))
        for index, ward in enumerate(province.wards):
            station[ward.code] = Facility(
                f"{province.code}{100 + index:03d}",
                f"Trạm Y tế {ward.name}",
                "station",
                ward,
                province,
            )
    return CareNetwork(station, regional, provincial, {k: tuple(v) for k, v in central.items()})


def facility_resources(facility: Facility, seed: int, names: NameSampler) -> Iterator[Json]:
    """Organization, Location, then each practitioner with a PractitionerRole."""
    org_id, loc_id = facility.organization_id, facility.location_id
    place = address(f"Trụ sở {facility.name}", facility.ward, facility.province, use="work")
    yield {
        "resourceType": "Organization",
        "id": org_id,
        "meta": SYNTHETIC_TAG,
        "identifier": [{"system": FACILITY_CODE_SYSTEM, "value": facility.code}],
        "active": True,
        "type": [
            concept(
                "http://terminology.hl7.org/CodeSystem/organization-type",
                "prov",
                "Healthcare Provider",
            )
        ],
        "name": facility.name,
        "address": [place],
    }
    type_code, type_display = LOCATION_TYPE[facility.level]
    yield {
        "resourceType": "Location",
        "id": loc_id,
        "meta": SYNTHETIC_TAG,
        "identifier": [{"system": FACILITY_CODE_SYSTEM, "value": facility.code}],
        "status": "active",
        "name": facility.name,
        "mode": "instance",
        "type": [
            concept("http://terminology.hl7.org/CodeSystem/v3-RoleCode", type_code, type_display)
        ],
        "address": place,
        "position": {"longitude": facility.ward.longitude, "latitude": facility.ward.latitude},
        "managingOrganization": ref("Organization", org_id),
    }
    rng = Random(f"{seed}:{facility.code}")  # noqa: S311 - reproducible test data, not secrets
    for number in range(1, facility.staff + 1):
        yield from _staff_member(facility, number, rng, names)


def _staff_member(
    facility: Facility, number: int, rng: Random, names: NameSampler
) -> Iterator[Json]:
    sex = "female" if rng.random() < 0.6 else "male"
    birth_year = 1965 + int(rng.random() * 35)
    name = names.person(rng, sex, birth_year, names.family(rng, facility.province.code))
    role = "doctor" if number == 1 or rng.random() < 0.4 else "nurse"
    prac_id = facility.practitioner_id(number)
    title = "BS." if role == "doctor" else "ĐD."
    yield {
        "resourceType": "Practitioner",
        "id": prac_id,
        "meta": SYNTHETIC_TAG,
        "identifier": [
            {"system": PRACTITIONER_LICENSE_SYSTEM, "value": f"{facility.code}/{number:04d}"}
        ],
        "active": True,
        "name": [
            {
                "use": "official",
                "text": name.text,
                "family": name.family,
                "given": [name.middle, name.given],
                "prefix": [title],
            }
        ],
        "gender": sex,
        "birthDate": f"{birth_year}-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}",
    }
    display = "Doctor" if role == "doctor" else "Nurse"
    yield {
        "resourceType": "PractitionerRole",
        "id": f"role-{facility.code}-{number}",
        "meta": SYNTHETIC_TAG,
        "active": True,
        "practitioner": ref("Practitioner", prac_id),
        "organization": ref("Organization", facility.organization_id),
        "code": [concept("http://terminology.hl7.org/CodeSystem/practitioner-role", role, display)],
        "location": [ref("Location", facility.location_id)],
    }
