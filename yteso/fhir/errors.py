"""One error hierarchy for the platform, each error an OperationOutcome.

https://hl7.org/fhir/R4/operationoutcome.html — ``issue.code`` values come from
http://hl7.org/fhir/issue-type. Only ``api`` and ``web`` turn these into HTTP responses;
the ``status`` attribute is the HTTP status those layers use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from yteso.fhir.types import Json


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue."""

    severity: str  # fatal | error | warning | information
    code: str  # an http://hl7.org/fhir/issue-type code
    diagnostics: str
    expression: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> Json:
        out: Json = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            out["expression"] = list(self.expression)
        return out


def operation_outcome(issues: Iterable[Issue]) -> Json:
    return {"resourceType": "OperationOutcome", "issue": [i.to_json() for i in issues]}


class FhirError(Exception):
    """Base of every error the platform reports; carries its OperationOutcome issues."""

    status: int = 500
    code: str = "exception"

    def __init__(
        self,
        message: str = "",
        *,
        expression: str | None = None,
        issues: Iterable[Issue] | None = None,
    ) -> None:
        self.issues: list[Issue] = list(issues or [])
        if not self.issues:
            expr = (expression,) if expression else ()
            self.issues = [Issue("error", self.code, message, expr)]
        super().__init__(message or "; ".join(i.diagnostics for i in self.issues))

    def outcome(self) -> Json:
        return operation_outcome(self.issues)


class Invalid(FhirError):
    """The content is not valid FHIR (structure, format, cardinality, binding...)."""

    status = 400
    code = "invalid"


class Unprocessable(FhirError):
    """Valid syntax but violates a rule of the resource (HTTP 422)."""

    status = 422
    code = "processing"


class NotFound(FhirError):
    status = 404
    code = "not-found"


class Gone(FhirError):
    """The resource existed and was deleted."""

    status = 410
    code = "deleted"


class Conflict(FhirError):
    status = 409
    code = "conflict"


class PreconditionFailed(FhirError):
    """A version-aware update (If-Match) or conditional operation precondition failed."""

    status = 412
    code = "conflict"


class Forbidden(FhirError):
    status = 403
    code = "forbidden"


class Unauthorized(FhirError):
    """No valid credentials (missing, expired, revoked or forged token): HTTP 401."""

    status = 401
    code = "login"


class NotSupported(FhirError):
    status = 405
    code = "not-supported"


class UnsupportedMediaType(FhirError):
    status = 415
    code = "not-supported"


class TooLarge(FhirError):
    status = 413
    code = "too-costly"


class Processing(FhirError):
    """The server could not complete the request for a reason that is not the client's input."""

    status = 500
    code = "exception"


__all__ = [
    "Conflict",
    "FhirError",
    "Forbidden",
    "Gone",
    "Invalid",
    "Issue",
    "NotFound",
    "NotSupported",
    "PreconditionFailed",
    "Processing",
    "TooLarge",
    "Unauthorized",
    "Unprocessable",
    "UnsupportedMediaType",
    "operation_outcome",
]
