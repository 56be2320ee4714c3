"""The official HL7 FHIRPath R4 test suite (../shared/suites/fhirpath/r4/tests-fhir-r4.xml).

Each ``<test>`` is one parametrized case against the JSON rendering of its input resource
(decimals parsed as Decimal so their precision survives). Date/time groups run again under two
more time zones, since ``now()``/``today()`` and offset-less values depend on the local zone.
Cases we believe are wrong in the suite are listed, with the reason, in docs/conformance.md and
marked xfail here (strict: if we start passing them, the test says so).
"""

from __future__ import annotations

import json
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED, shared_path
from yteso.fhirpath import FhirPathError, Node, Quantity, Temporal, compile
from yteso.fhirpath.temporal import DATE, DATETIME, TIME
from yteso.fhirpath.values import to_system

SUITE = SHARED / "suites" / "fhirpath" / "r4"

# name -> why we believe the expected output is wrong (see docs/conformance.md).
SUITE_ERRORS = {
    "LowBoundaryDecimal15": "(-0.0034).lowBoundary(1) must be <= -0.0034, so -0.1, not -0.0",
    "HighBoundaryDecimal15": "0.0034.highBoundary(1) must be >= 0.0034, so 0.1, not 0.0",
    "HighBoundaryDecimal16": "-0.0034.highBoundary(1) is -(0.0034.highBoundary(1)) = -0.1",
    "HighBoundaryDateTimeMillisecond1": "hour precision: the high boundary is 08:59:59.999",
    "HighBoundaryDateTimeMillisecond3": "hour precision: the high boundary is 08:59:59.999",
}
TIME_ZONE_GROUPS = {
    "testLiterals",
    "testEquality",
    "testNEquality",
    "testEquivalent",
    "testLessThan",
    "testGreaterThan",
    "testPlus",
    "testMinus",
    "testToday",
    "testNow",
    "LowBoundary",
    "HighBoundary",
    "period",
}


@dataclass(frozen=True)
class Case:
    group: str
    name: str
    expression: str
    inputfile: str | None
    invalid: str | None
    mode: str | None
    predicate: bool
    ordered: bool
    outputs: tuple[tuple[str | None, str], ...]


def _cases() -> list[Case]:
    path = SUITE / "tests-fhir-r4.xml"
    if not path.exists():
        return []
    cases = []
    for group in ET.parse(path).getroot().iter("group"):
        for test in group.iter("test"):
            expression = test.find("expression")
            assert expression is not None
            cases.append(
                Case(
                    group=group.get("name", ""),
                    name=test.get("name", ""),
                    expression=expression.text or "",
                    inputfile=test.get("inputfile"),
                    invalid=expression.get("invalid"),
                    mode=test.get("mode") or expression.get("mode"),
                    predicate=test.get("predicate") == "true",
                    ordered=test.get("ordered") != "false",
                    outputs=tuple((o.get("type"), o.text or "") for o in test.iter("output")),
                )
            )
    return cases


CASES = _cases()


@cache
def _resource(inputfile: str) -> Any:
    name = inputfile.rsplit(".", 1)[0] + ".json"
    text = (SUITE / "input-json" / name).read_text(encoding="utf-8")
    return json.loads(text, parse_float=Decimal)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Temporal):
        return value.literal()
    return str(value)


_SYSTEM_KINDS = {bool: "boolean", int: "integer", Decimal: "decimal", str: "string"}
_TEMPORAL_KINDS = {DATE: "date", DATETIME: "dateTime", TIME: "time"}


def _type_name(item: Any) -> str | None:
    """The type an output names: a FHIR node's own type (``code``, ``id``), else its System
    value's (``string`` for a computed string, ``dateTime`` for a DateTime)."""
    if type(item) is Node and item.type is not None:
        return item.type
    value = to_system(item)
    if isinstance(value, Temporal):
        return _TEMPORAL_KINDS[value.kind]
    if isinstance(value, Quantity):
        return "Quantity"
    return _SYSTEM_KINDS.get(type(value))


def _matches(item: Any, kind: str | None, text: str) -> bool:
    value = to_system(item)
    if kind is None:
        return _literal(value) == text
    if _type_name(item) != kind:  # exactly the type the suite names: a string is no code
        return False
    if kind == "boolean":
        return isinstance(value, bool) and _literal(value) == text
    if kind in ("date", "dateTime", "time"):
        return isinstance(value, Temporal) and value.literal() == text
    if kind == "Quantity":
        return isinstance(value, Quantity) and str(value) == text
    if kind == "decimal":
        return isinstance(value, Decimal) and value == Decimal(text)
    if kind == "integer":
        return type(value) is int and value == int(text)
    return isinstance(value, str) and value == text


def run_case(case: Case) -> None:
    if case.invalid:
        with pytest.raises(FhirPathError):
            _evaluate(case)
        return
    result = _evaluate(case)
    if case.predicate:
        result = [bool(result)]
    expected = list(case.outputs)
    assert len(result) == len(expected), f"{case.expression}: got {result!r}"
    if not case.ordered:
        result = sorted(result, key=lambda item: _literal(to_system(item)))
        expected = sorted(expected, key=lambda output: output[1])
    for item, (kind, text) in zip(result, expected, strict=True):
        assert _matches(item, kind, text), f"{case.expression}: {item!r} is not {kind} {text}"


def _evaluate(case: Case) -> list[Any]:
    resource = _resource(case.inputfile) if case.inputfile else None
    compiled = compile(case.expression, strict=case.mode == "strict")
    return compiled.evaluate_items(resource)


def _params(cases: list[Case]) -> list[Any]:
    params = []
    for index, case in enumerate(cases):
        marks = []
        if case.name in SUITE_ERRORS:
            marks.append(pytest.mark.xfail(reason=SUITE_ERRORS[case.name], strict=True))
        params.append(pytest.param(case, id=f"{index}-{case.name}", marks=marks))
    return params


@pytest.fixture(scope="module", autouse=True)
def _suite_present() -> None:
    shared_path("suites", "fhirpath", "r4", "tests-fhir-r4.xml")


@pytest.mark.parametrize("case", _params(CASES))
def test_fhirpath_case(case: Case) -> None:
    run_case(case)


@pytest.fixture(params=["Asia/Ho_Chi_Minh", "America/New_York"])
def local_time_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    previous = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


def test_date_groups_in_other_time_zones(local_time_zone: str) -> None:
    dated = [c for c in CASES if c.group in TIME_ZONE_GROUPS and c.name not in SUITE_ERRORS]
    assert len(dated) > 200
    failures = []
    for case in dated:
        try:
            run_case(case)
        except AssertionError as exc:  # collect all, report together
            failures.append(f"{case.name}: {exc}")
    assert not failures, "\n".join(failures)


def test_suite_is_complete() -> None:
    assert len(CASES) == 935
    assert Path(SUITE / "input-json").is_dir()


def test_strict_mode_accepts_every_valid_case() -> None:
    """Strict mode rejects what the suite says is invalid, and nothing the suite says is fine."""
    rejected = []
    for case in CASES:
        if case.invalid:
            continue
        resource = _resource(case.inputfile) if case.inputfile else None
        try:
            compile(case.expression, strict=True).evaluate_items(resource)
        except FhirPathError as exc:
            rejected.append(f"{case.name}: {exc}")
    assert not rejected, "\n".join(rejected)


@pytest.mark.parametrize(
    ("item", "kind", "accepted"),
    [
        (Node("male", "code"), "code", True),
        (Node("male", "string"), "code", False),
        ("male", "code", False),  # a computed System string is no code
        (Node("male", "code"), "string", False),
        (Node("1", "id"), "id", True),
        (Node("1", "string"), "id", False),
        (Node("2012-04-15", "date"), "dateTime", False),
        (True, "boolean", True),
        (1, "decimal", False),
    ],
)
def test_outputs_must_have_the_type_the_suite_names(item: Any, kind: str, accepted: bool) -> None:
    text = {bool: "true", int: "1"}.get(type(item), to_system(item))
    assert _matches(item, kind, str(text)) is accepted
