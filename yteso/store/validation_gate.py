"""The gate every write passes: nothing invalid is ever stored.

Structure validation (``yteso.fhir.validation.validate``), FHIRPath invariants
(``yteso.fhirpath.invariants.check_invariants``) and, for Patients, the VN Core identifier rules
(``yteso.fhir.vn_identifiers``: a CCCD must match birth province, sex and year) each return
OperationOutcome issues; only ``error`` and ``fatal`` issues reject, and a rejection carries all
of them at once
(https://hl7.org/fhir/R4/validation.html).
"""

from __future__ import annotations

from typing import Final

from yteso.fhir.errors import Invalid, Issue
from yteso.fhir.types import Json
from yteso.fhir.validation import ValidationOptions, has_errors, validate
from yteso.fhir.validation.verdict import certainly_valid_function
from yteso.fhir.vn_identifiers import check_patient_identifiers
from yteso.fhirpath.invariants import check_invariants
from yteso.store.custom_params import key_clashes

_REJECTING = frozenset({"error", "fatal"})
_EXTENSION_KEY_END: Final = b'xtension"'  # the end of "extension" and "modifierExtension"
# The structure walk's verdict in C (verdict.py): True only when ``validate`` would report no
# issue, so the walk runs only for resources it is not sure of. None: the Python walk always.
_CERTAINLY_VALID: Final = certainly_valid_function()


def resource_issues(
    resource: Json, options: ValidationOptions | None = None, *, text: bytes | None = None
) -> list[Issue]:
    """All issues (any severity) the checkers report for ``resource``.

    ``options`` selects the validator's optional checks (the HL7 validator suite runs the Java
    validator's settings through here); writes use the platform's defaults. ``text``: orjson's
    own text of ``resource`` (``json_codec.loads_text``), when the caller has it.
    """
    if not isinstance(resource, dict):
        return [Issue("fatal", "structure", "a resource must be a JSON object")]
    if options is not None:
        return _issues_with_options(resource, options)
    if _CERTAINLY_VALID is not None and _CERTAINLY_VALID(resource):
        issues: list[Issue] = []
    else:
        issues = validate(resource)
    # orjson writes keys unescaped: text without ``xtension"`` has no ``extension`` or
    # ``modifierExtension`` key anywhere, and the invariant walk can skip more (same issues)
    extensions = text is None or _EXTENSION_KEY_END in text
    issues += check_invariants(resource, well_formed=not has_errors(issues), extensions=extensions)
    if resource.get("resourceType") == "Patient":  # VN Core identifier rules (CCCD, BHYT)
        issues += check_patient_identifiers(resource)
    if resource.get("resourceType") == "SearchParameter":  # its index rows' key (param_keys)
        issues += key_clashes(resource)
    return issues


def _issues_with_options(resource: Json, options: ValidationOptions) -> list[Issue]:
    found = check_invariants(resource)
    if not options.validate_contained:  # contained resources are not looked at (dom-3 too)
        found = [
            issue
            for issue in found
            if not issue.diagnostics.startswith("dom-3:")
            and not any(".contained[" in path for path in issue.expression)
        ]
    found += validate(resource, options)
    if resource.get("resourceType") == "Patient":
        found += check_patient_identifiers(resource)
    return found


def rejecting(issues: list[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.severity in _REJECTING]


def require_valid(resource: Json) -> None:
    """Raise :class:`Invalid` with every issue when any of them is an error."""
    issues = resource_issues(resource)
    if rejecting(issues):
        raise Invalid(issues=issues)
