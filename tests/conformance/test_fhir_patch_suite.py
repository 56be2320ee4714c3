"""The official FHIR patch cases (../shared/suites/fhir-patch/, FHIR/fhir-test-cases r4/patch).

FHIRPath Patch cases are XML; a small model-aware XML -> JSON converter (arrays and primitive
JSON types from the R4 definitions) turns input, Parameters and expected output into JSON, and
``apply_fhirpath_patch`` must reproduce the output (or fail where the case expects an error).
The JSON Patch cases run against the ``jsonpatch`` library the PATCH interaction uses, so the
count is known.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import jsonpatch
import pytest

from tests.conftest import SHARED, shared_path
from yteso.fhir import definitions
from yteso.fhir.errors import FhirError
from yteso.fhirpath import model
from yteso.fhirpath.patch import apply_fhirpath_patch

SUITE = SHARED / "suites" / "fhir-patch"
FHIR = "{http://hl7.org/fhir}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def resource_json(element: ET.Element) -> dict[str, Any]:
    kind = _local(element.tag)
    return {"resourceType": kind, **_children(element, kind)}


def _primitive(text: str, type_name: str | None) -> Any:
    if type_name == "boolean":
        return text == "true"
    if type_name in ("integer", "positiveInt", "unsignedInt"):
        return int(text)
    if type_name == "decimal":
        return Decimal(text)
    return text


def _child_type(parent: str, name: str) -> tuple[str, str | None]:
    """(JSON key base name for cardinality, FHIR type) of a child element."""
    found = model.child(parent, name)
    if found is not None and found.type is not None:
        return name, found.type
    choice = model.choice_key(parent, name)
    if choice is not None:
        return choice[0] + "[x]", choice[1]
    return name, None


def _children(element: ET.Element, type_name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        base, child_type = _child_type(type_name, name)
        definition = definitions.element(f"{type_name}.{base}")
        repeats = definition is not None and definition.is_array
        value, extra = _value(child, child_type)
        if repeats:
            out.setdefault(name, []).append(value)
            if extra is not None:
                out.setdefault("_" + name, []).append(extra)
        else:
            out[name] = value
            if extra is not None:
                out["_" + name] = extra
    for attribute in ("id", "url"):
        if attribute in element.attrib and "value" not in element.attrib:
            out[attribute] = element.attrib[attribute]
    return out


def _value(child: ET.Element, type_name: str | None) -> tuple[Any, Any]:
    if child.tag.startswith(XHTML):
        ET.register_namespace("", XHTML[1:-1])
        tail, child.tail = child.tail, None
        text = ET.tostring(child, encoding="unicode")
        child.tail = tail
        return text, None
    if type_name in ("Resource", None) and len(child) == 1 and child[0].tag.startswith(FHIR):
        if type_name == "Resource":
            return resource_json(child[0]), None
    if "value" in child.attrib:
        extensions = _children(child, "Element") if len(child) else {}
        if "id" in child.attrib:
            extensions["id"] = child.attrib["id"]
        return _primitive(child.attrib["value"], type_name), extensions or None
    return _children(child, type_name or "Element"), None


def _patch_cases() -> list[Any]:
    path = SUITE / "fhir-patch-tests.xml"
    if not path.exists():
        return []
    params = []
    for case in ET.parse(path).getroot().iter("case"):
        params.append(pytest.param(case, id=case.get("name")))
    return params


@pytest.fixture(scope="module", autouse=True)
def _suite_present() -> None:
    shared_path("suites", "fhir-patch", "fhir-patch-tests.xml")


def _resource_in(case: ET.Element, name: str) -> dict[str, Any]:
    holder = case.find(name)
    assert holder is not None and len(holder) == 1
    return resource_json(holder[0])


@pytest.mark.parametrize("case", _patch_cases())
def test_fhirpath_patch_case(case: ET.Element) -> None:
    source = _resource_in(case, "input")
    parameters = _resource_in(case, "diff")
    error = case.find("error")
    if error is not None:
        with pytest.raises(FhirError):
            apply_fhirpath_patch(source, parameters)
        return
    before = json.dumps(source, default=str, sort_keys=True)
    assert apply_fhirpath_patch(source, parameters) == _resource_in(case, "output")
    assert json.dumps(source, default=str, sort_keys=True) == before  # input untouched


def _json_patch_cases() -> list[Any]:
    path = SUITE / "json-patch-tests.json"
    if not path.exists():
        return []
    cases = json.loads(path.read_text(encoding="utf-8"))
    return [pytest.param(case, id=case.get("comment", str(i))) for i, case in enumerate(cases)]


@pytest.mark.parametrize("case", _json_patch_cases())
def test_json_patch_case_with_jsonpatch(case: dict[str, Any]) -> None:
    if case.get("disabled"):
        pytest.skip("disabled in the suite")
    if "error" in case:
        with pytest.raises((jsonpatch.JsonPatchException, jsonpatch.JsonPointerException)):
            jsonpatch.apply_patch(case["doc"], case["patch"])
        return
    assert jsonpatch.apply_patch(case["doc"], case["patch"]) == case["expected"]
