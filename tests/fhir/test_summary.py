"""_summary and _elements projections follow the definitions' isSummary and min flags."""

from __future__ import annotations

from typing import Any

import pytest

from yteso.fhir.errors import Invalid
from yteso.fhir.summary import SUBSETTED, select_elements, summarize

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"versionId": "1"},
    "text": {"status": "generated", "div": "<div xmlns='http://www.w3.org/1999/xhtml'>x</div>"},
    "name": [{"family": "Nguyen", "given": ["An"]}],
    "birthDate": "1990-01-01",
    "_birthDate": {"extension": [{"url": "u", "valueString": "x"}]},
    "photo": [{"contentType": "image/png"}],
    "contact": [{"name": {"family": "Tran"}}],
    "deceasedBoolean": False,
    "communication": [{"language": {"text": "vi"}}],
}
OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "code": {"text": "hr"},
    "valueQuantity": {"value": 60},
    "note": [{"text": "n"}],
    "component": [{"code": {"text": "c"}, "valueString": "v", "interpretation": [{"text": "i"}]}],
}


@pytest.mark.parametrize(
    ("resource", "mode", "kept"),
    [
        (
            PATIENT,
            "true",
            {"resourceType", "id", "meta", "name", "birthDate", "_birthDate", "deceasedBoolean"},
        ),
        (PATIENT, "text", {"resourceType", "id", "meta", "text"}),
        (PATIENT, "data", set(PATIENT) - {"text"}),
        (PATIENT, "false", set(PATIENT)),
        (
            OBSERVATION,
            "true",
            {"resourceType", "id", "meta", "status", "code", "valueQuantity", "component"},
        ),
        (OBSERVATION, "text", {"resourceType", "id", "meta", "status", "code"}),
    ],
)
def test_summary_keeps_summary_elements(
    resource: dict[str, Any], mode: str, kept: set[str]
) -> None:
    result = summarize(resource, mode)
    assert set(result) == kept
    tags = result.get("meta", {}).get("tag", [])
    assert (SUBSETTED in tags) == (mode != "false")


def test_summary_descends_into_backbone_elements() -> None:
    component = summarize(OBSERVATION, "true")["component"][0]
    assert set(component) == {"code", "valueString"}  # interpretation is not a summary element


def test_summary_rejects_unknown_mode() -> None:
    with pytest.raises(Invalid):
        summarize(PATIENT, "everything")


@pytest.mark.parametrize(
    ("elements", "kept"),
    [
        (["birthDate"], {"resourceType", "id", "meta", "birthDate", "_birthDate"}),
        (["Patient.name", "photo"], {"resourceType", "id", "meta", "name", "photo"}),
        (["deceased"], {"resourceType", "id", "meta", "deceasedBoolean"}),
        ([], {"resourceType", "id", "meta"}),
    ],
)
def test_elements_keep_what_is_asked_and_mandatory(elements: list[str], kept: set[str]) -> None:
    result = select_elements(PATIENT, elements)
    assert set(result) == kept
    assert SUBSETTED in result["meta"]["tag"]


def test_elements_keep_mandatory_elements() -> None:
    assert set(select_elements(OBSERVATION, ["note"])) == {
        "resourceType",
        "id",
        "meta",
        "status",
        "code",
        "note",
    }
