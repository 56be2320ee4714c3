"""A small, hand-made data set whose search results are known exactly (Vietnamese names with
and without diacritics, codes, quantities in convertible units, dates of every precision)."""

from __future__ import annotations

from yteso.fhir.types import Json

CCCD = "http://fhir.hl7.org.vn/core/sid/cccd"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def _patient(
    id: str, family: str, given: list[str], gender: str, birth: str, **more: object
) -> Json:
    return {
        "resourceType": "Patient",
        "id": id,
        "name": [{"family": family, "given": given}],
        "gender": gender,
        "birthDate": birth,
        **more,
    }


def _cccd(value: str) -> list[Json]:
    kind = {"coding": [{"system": V2_0203, "code": "NI"}]}
    return [{"system": CCCD, "value": value, "type": kind}]


def _observation(id: str, subject: str, code: str, display: str, **more: object) -> Json:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": more.pop("status", "final"),
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{subject}"},
        **more,
    }


def _quantity(value: float, code: str) -> Json:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def search_resources() -> list[Json]:
    return [
        {"resourceType": "Organization", "id": "org-hn", "name": "Bệnh viện Bạch Mai"},
        {"resourceType": "Organization", "id": "org-hue", "name": "Bệnh viện Trung ương Huế"},
        {
            "resourceType": "Practitioner",
            "id": "prac-1",
            "name": [{"family": "Lê", "given": ["Văn"]}],
        },
        _patient(
            "pat-nguyen",
            "Nguyễn",
            ["Văn", "An"],
            "male",
            "1980-05-12",
            identifier=_cccd("001080000001"),
            active=True,
            managingOrganization={"reference": "Organization/org-hn"},
            address=[{"city": "Hà Nội", "country": "VN"}],
            telecom=[{"system": "phone", "value": "0912345678"}],
        ),
        _patient(
            "pat-dang",
            "Đặng",
            ["Thị", "Bích"],
            "female",
            "1992-11",
            identifier=_cccd("001192000002"),
            active=False,
            managingOrganization={"reference": "Organization/org-hue"},
        ),
        _patient("pat-nguyen2", "Nguyen", ["Minh"], "male", "2001"),
        _patient(
            "pat-tran",
            "Trần",
            ["Hưng", "Đạo"],
            "female",
            "1975-01-01",
            deceasedDateTime="2024-03-01T10:00:00+07:00",
            managingOrganization={"reference": "Organization/org-hue"},
        ),
        _observation(
            "obs-1",
            "pat-nguyen",
            "8867-4",
            "Heart rate",
            valueQuantity=_quantity(72, "/min"),
            effectiveDateTime="2024-03-10T08:00:00+07:00",
            performer=[{"reference": "Practitioner/prac-1"}],
            meta={"tag": [{"system": "http://example.org/tags", "code": "urgent"}]},
        ),
        _observation(
            "obs-2",
            "pat-nguyen",
            "29463-7",
            "Body weight",
            valueQuantity=_quantity(70.5, "kg"),
            effectivePeriod={"start": "2024-03-01", "end": "2024-03-05"},
        ),
        _observation(
            "obs-3",
            "pat-dang",
            "29463-7",
            "Body weight",
            valueQuantity=_quantity(55000, "g"),
            effectiveDateTime="2024-04",
            status="preliminary",
        ),
        _observation(
            "obs-4",
            "pat-tran",
            "2345-7",
            "Glucose",
            valueQuantity=_quantity(5.5, "mmol/L"),
            effectiveDateTime="2023-12-31",
        ),
        {
            "resourceType": "Observation",
            "id": "obs-5",
            "status": "amended",
            "code": {
                "coding": [{"system": "http://example.org", "code": "abc"}],
                "text": "Ghi chú",
            },
            "subject": {"reference": "Patient/pat-dang"},
            "valueString": "khám sức khoẻ định kỳ",
        },
        {
            "resourceType": "ValueSet",
            "id": "vs-1",
            "status": "active",
            "url": "http://example.org/fhir/ValueSet/abc",
        },
        {
            "resourceType": "ValueSet",
            "id": "vs-2",
            "status": "active",
            "url": "http://example.org/fhir/ValueSet/abc/sub",
        },
        {"resourceType": "ValueSet", "id": "vs-3", "status": "active", "url": "http://other.org/x"},
        *(
            {
                "resourceType": "RiskAssessment",
                "id": f"ra-{i}",
                "status": "final",
                "subject": {"reference": "Patient/pat-nguyen"},
                "prediction": [{"probabilityDecimal": p}],
            }
            for i, p in ((1, 0.25), (2, 0.8), (3, 100))
        ),
    ]


# A custom SearchParameter (not in R4) on an extension, for the reindex and registry tests.
ETHNIC = "http://example.org/fhir/StructureDefinition/ethnic"
ETHNIC_DEFINITION = "http://example.org/fhir/SearchParameter/ethnic"
ETHNIC_SEARCH_PARAMETER: Json = {
    "resourceType": "SearchParameter",
    "id": "ethnic",
    "url": ETHNIC_DEFINITION,
    "name": "ethnic",
    "status": "active",
    "description": "Ethnic group",
    "code": "ethnic",
    "base": ["Patient"],
    "type": "token",
    "expression": f"Patient.extension.where(url='{ETHNIC}').value",
}
