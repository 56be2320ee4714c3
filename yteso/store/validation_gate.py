"""The gate every write passes: nothing invalid is ever stored.

Structure validation (``yteso.fhir.validation.validate``) and FHIRPath invariants
(``yteso.fhirpath.invariants.check_invariants``) each return OperationOutcome issues; only
``error`` and ``fatal`` issues reject, and a rejection carries all of them at once
(https://hl7.org/fhir/R4/validation.html).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from yteso.fhir.errors import Invalid, Issue
from yteso.fhir.types import Json
from yteso.fhir.validation import ValidationOptions, validate

Checker = Callable[[Json], list[Issue]]

_ID = re.compile(r"[A-Za-z0-9\-\.]{1,64}")
_REJECTING = frozenset({"error", "fatal"})


def _minimal_check(resource: Json) -> list[Issue]:
    """Stand-in used only while the structure validator is absent: resourceType and id."""
    issues: list[Issue] = []
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type[:1].isupper():
        issues.append(Issue("error", "structure", "missing or bad resourceType", ("resourceType",)))
    resource_id = resource.get("id")
    if resource_id is not None and not (
        isinstance(resource_id, str) and _ID.fullmatch(resource_id)
    ):
        issues.append(
            Issue("error", "value", "id is not a valid FHIR id", (f"{resource_type}.id",))
        )
    return issues


def _optional_checker(module: str, function: str) -> Checker | None:
    """Import a checker written by another package if it exists yet (import-linter still
    sees the dependency direction: fhir and fhirpath are below store)."""
    try:
        found: Checker = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        return None
    return found


def _checkers() -> list[Checker]:
    structure = _optional_checker("yteso.fhir.validation", "validate") or _minimal_check
    invariants = _optional_checker("yteso.fhirpath.invariants", "check_invariants")
    return [structure] if invariants is None else [structure, invariants]


_CHECKERS = _checkers()


def resource_issues(resource: Json, options: ValidationOptions | None = None) -> list[Issue]:
    """All issues (any severity) the checkers report for ``resource``.

    ``options`` selects the validator's optional checks (the HL7 validator suite runs the Java
    validator's settings through here); writes use the platform's defaults.
    """
    if not isinstance(resource, dict):
        return [Issue("fatal", "structure", "a resource must be a JSON object")]
    if options is not None:
        return _issues_with_options(resource, options)
    issues: list[Issue] = []
    for check in _CHECKERS:
        issues.extend(check(resource))
    return issues


def _issues_with_options(resource: Json, options: ValidationOptions) -> list[Issue]:
    issues = validate(resource, options)
    for check in _CHECKERS[1:]:  # the invariants
        found = check(resource)
        if not options.validate_contained:  # contained resources are not looked at (dom-3 too)
            found = [
                issue
                for issue in found
                if not issue.diagnostics.startswith("dom-3:")
                and not any(".contained[" in path for path in issue.expression)
            ]
        issues.extend(found)
    return issues


def rejecting(issues: list[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.severity in _REJECTING]


def require_valid(resource: Json) -> None:
    """Raise :class:`Invalid` with every issue when any of them is an error."""
    issues = resource_issues(resource)
    if rejecting(issues):
        raise Invalid(issues=issues)
