"""The HL7 Java validator's R4 test cases (../shared/suites/fhir-validator) as parametrized tests.

Each case runs through ``yteso.store.validation_gate.resource_issues`` -- the structure validator
then the FHIRPath invariants, exactly what every write and ``$validate`` run -- with the Java
validator's settings the manifest records for the case (example URLs, security checks, HTML in
markdown, experimental content, ``validateContains``, ``validateReference``, allowed extension
domains) and its default
that an extension without a known definition is an error. The verdict (valid, or invalid = any
error/fatal issue) must equal the Java validator's. Cases whose expected errors all need a
terminology server (display names and codes of CVX or SNOMED CT, which the core definitions do
not carry) are xfail. ``test_summary`` prints how many verdicts and exact error counts match.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED, shared_path
from yteso.fhir.validation import ValidationOptions, validate_json_bytes
from yteso.store.validation_gate import resource_issues

SUITE = SHARED / "suites" / "fhir-validator"
TERMINOLOGY_REASON = (
    "needs a terminology server: display names / codes of external code systems (CVX, SNOMED CT)"
)
# Expected messages no check of ours can produce without an external terminology server.
NEEDS_TERMINOLOGY = re.compile(r"^Wrong Display Name|^Unknown code")


@dataclass(frozen=True)
class Case:
    name: str
    input: Path
    expected_errors: int | None  # None: the manifest does not use the case (use-test false)
    skip_reason: str | None  # why our verdict cannot match
    options: ValidationOptions


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
    if not entry.get("expected_errors") or not entry.get("outcome"):
        return None
    messages = _expected_messages(SUITE / entry["outcome"])
    if messages and all(NEEDS_TERMINOLOGY.search(message) for message in messages):
        return TERMINOLOGY_REASON
    return None


def java_options(entry: dict[str, Any]) -> ValidationOptions:
    """The Java validator's settings for one manifest entry (its defaults otherwise)."""
    domain = entry.get("allowed-extension-domain")
    return ValidationOptions(
        unknown_extension_severity="error",
        allowed_extension_domains=(domain,) if domain else (),
        example_urls_allowed=entry.get("examples") is not False,
        security_checks=entry.get("security-checks") is True,
        no_html_in_markdown=entry.get("noHtmlInMarkdown") is True,
        experimental_allowed=entry.get("no-experimental-content") is not True,
        validate_contained=entry.get("validateContains") != "IGNORE",
        resolve_local_references=entry.get("validateReference") == "CHECK_EXISTS_AND_TYPE",
    )


def _cases() -> list[Case]:
    manifest = SUITE / "manifest.json"
    if not manifest.exists():
        return []
    entries = json.loads(manifest.read_text(encoding="utf-8"))["cases"]
    return [
        Case(
            e["name"],
            SUITE / e["input"],
            e.get("expected_errors"),
            _skip_reason(e),
            java_options(e),
        )
        for e in entries
    ]


CASES = _cases()


def _error_count(case: Case) -> int:
    resource, issues = validate_json_bytes(case.input.read_bytes(), case.options)
    if resource is not None:
        issues = resource_issues(resource, case.options)
    return sum(1 for issue in issues if issue.severity in ("error", "fatal"))


def _param(case: Case) -> Any:
    marks: list[Any] = []
    if case.expected_errors is None:
        marks.append(pytest.mark.skip(reason="the suite's manifest does not use this case"))
    elif case.skip_reason:
        marks.append(pytest.mark.xfail(strict=True, reason=case.skip_reason))
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
    checkable = [c for c in used if c.skip_reason is None]
    with capsys.disabled():
        print(
            f"\nHL7 validator cases: {len(used)} used of {len(CASES)}; verdicts match "
            f"{len(verdicts)}; exact error counts match {len(exact)}; cases needing no "
            f"terminology server {len(checkable)}"
        )
    assert {c.name for c in checkable} <= {c.name for c in verdicts}
    assert len(exact) >= 62  # measured 2026-11-26; a drop means a regression
