"""Vietnamese identifier systems and extensions used across the platform.

HL7 Vietnam's VN Core IG (https://fhir.hl7.org.vn/core) publishes NamingSystems and extensions
for Vietnamese identifiers. DESIGN.md fixes the citizen-ID system; the other URLs follow the
same ``http://fhir.hl7.org.vn/core/...`` pattern as best known and are kept here, in one place,
so that a correction is a one-line change for every module (MPI, immunization, synth, ...).
"""

from __future__ import annotations

#: Citizen identity card number (CCCD, 12 digits), Law on Identification 2023.
CCCD_SYSTEM = "http://fhir.hl7.org.vn/core/sid/cccd"
#: Health insurance card number (BHYT, 15 characters).
BHYT_SYSTEM = "http://fhir.hl7.org.vn/core/sid/bhyt"
#: Health facility code (mã cơ sở khám, chữa bệnh).
FACILITY_CODE_SYSTEM = "http://fhir.hl7.org.vn/core/sid/facility-code"
#: Practising certificate number of a health worker (chứng chỉ hành nghề).
PRACTITIONER_LICENSE_SYSTEM = "http://fhir.hl7.org.vn/core/sid/practitioner-license"
#: Extension on Address carrying the ward/commune (5-digit code of the 3,321 units of 2025).
WARD_EXTENSION_URL = "http://fhir.hl7.org.vn/core/StructureDefinition/vn-ext-ward"
#: Code system of the ward/commune codes (post-1 July 2025 administrative units).
WARD_CODE_SYSTEM = "http://fhir.hl7.org.vn/core/CodeSystem/vn-ward-cs"
#: ICD-10 as sent by Vietnamese systems (adds A90/A91 for dengue, A08.4 as printed by TT54).
VN_ICD10_SYSTEM = "http://fhir.hl7.org.vn/core/CodeSystem/vn-icd10-cs"

__all__ = [
    "BHYT_SYSTEM",
    "CCCD_SYSTEM",
    "FACILITY_CODE_SYSTEM",
    "PRACTITIONER_LICENSE_SYSTEM",
    "VN_ICD10_SYSTEM",
    "WARD_CODE_SYSTEM",
    "WARD_EXTENSION_URL",
]
