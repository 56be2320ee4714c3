"""The HL7 Java validator's R4 test cases (../shared/suites/fhir-validator) as parametrized tests.

Each case's verdict (valid, or invalid = any error/fatal issue) must equal the Java validator's.
Cases whose expected errors all come from checks outside structural validation (FHIRPath
invariants, terminology, extension definitions, reference resolution, optional validator
settings) are classified from the expected OperationOutcome messages and marked xfail with the
reason. ``test_summary`` prints how many verdicts and exact error counts match.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED, shared_path
from yteso.fhir.validation import validate_json_bytes

SUITE = SHARED / "suites" / "fhir-validator"
INVARIANTS_REASON = "needs FHIRPath invariants (issue 3)"

# Expected messages that come from checks other than structural validation, by what they need.
NON_STRUCTURAL = [
    (re.compile(r"^Constraint failed: (?!ele-1\b)"), INVARIANTS_REASON),
    (re.compile(r"is not referenced to from elsewhere in the containing"), INVARIANTS_REASON),
    (re.compile(r"^Wrong Display Name|^Unknown code"), "needs a terminology server"),
    (
        re.compile(
            r"could not be found so is not allowed|is not allowed to be used at this "
            r"point|definition allows for the types"
        ),
        "needs extension definitions",
    ),
    (re.compile(r"^Example URLs are not allowed"), "validator option: no example URLs"),
    (
        re.compile(
            r"^Unable to resolve|^Can't find|^Multiple matches|^Found \d+ matches|isn't "
            r"reachable|^Duplicate id value|^Hyperlink .* does not resolve"
        ),
        "needs reference resolution",
    ),
    (
        re.compile(
            r"looks like embedded HTML tags|markdown contains content that appears to be "
            r"an embedded HTML"
        ),
        "validator option: security checks",
    ),
]
UNSUPPORTED_OPTIONS = {"validateContains": "IGNORE"}


@dataclass(frozen=True)
class Case:
    name: str
    input: Path
    expected_errors: int | None  # None: the manifest does not use the case (use-test false)
    skip_reason: str | None  # why our structural verdict cannot match yet


def _expected_messages(outcome: Path) -> list[str]:
    try:
        data = json.loads(outcome.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [
        issue.get("details", {}).get("text") or issue.get("diagnostics", "")
        for issue in data.get("issue", [])
        if issue.get("severity") in ("error", "fatal")
    ]


def _skip_reason(entry: dict[str, Any]) -> str | None:
    for option, value in UNSUPPORTED_OPTIONS.items():
        if entry.get(option) == value:
            return f"validator option {option}={value} not supported"
    if not entry.get("expected_errors") or not entry.get("outcome"):
        return None
    reasons: set[str] = set()
    for message in _expected_messages(SUITE / entry["outcome"]):
        reason = next((r for pattern, r in NON_STRUCTURAL if pattern.search(message)), None)
        if reason is None:
            return None  # at least one expected error is structural: the verdict must match
        reasons.add(reason)
    return "; ".join(sorted(reasons)) or None


def _cases() -> list[Case]:
    manifest = SUITE / "manifest.json"
    if not manifest.exists():
        return []
    entries = json.loads(manifest.read_text(encoding="utf-8"))["cases"]
    return [
        Case(e["name"], SUITE / e["input"], e.get("expected_errors"), _skip_reason(e))
        for e in entries
    ]


CASES = _cases()


def _error_count(case: Case) -> int:
    _, issues = validate_json_bytes(case.input.read_bytes())
    return sum(1 for issue in issues if issue.severity in ("error", "fatal"))


def _param(case: Case) -> Any:
    marks: list[Any] = []
    if case.expected_errors is None:
        marks.append(pytest.mark.skip(reason="the suite's manifest does not use this case"))
    elif case.skip_reason:
        marks.append(pytest.mark.xfail(strict=False, reason=case.skip_reason))
    return pytest.param(case, id=case.name, marks=marks)


def test_suite_is_present() -> None:
    shared_path("suites", "fhir-validator", "manifest.json")
    assert len(CASES) >= 79


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_verdict_matches_java_validator(case: Case) -> None:
    assert case.expected_errors is not None
    assert (_error_count(case) > 0) == (case.expected_errors > 0)


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    shared_path("suites", "fhir-validator", "manifest.json")
    used = [c for c in CASES if c.expected_errors is not None]
    counts = {case.name: _error_count(case) for case in used}
    verdicts = [c for c in used if (counts[c.name] > 0) == ((c.expected_errors or 0) > 0)]
    exact = [c for c in used if counts[c.name] == c.expected_errors]
    structural = [c for c in used if c.skip_reason is None]
    with capsys.disabled():
        print(
            f"\nHL7 validator cases: {len(used)} used of {len(CASES)}; verdicts match "
            f"{len(verdicts)}; "
            f"exact error counts match {len(exact)}; cases needing only structural checks "
            f"{len(structural)}"
        )
    assert {c.name for c in structural} <= {c.name for c in verdicts}
