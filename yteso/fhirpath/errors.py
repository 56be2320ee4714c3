"""Typed FHIRPath errors, rooted in the platform's ``Invalid`` (an OperationOutcome issue).

https://hl7.org/fhirpath/N1/#errors: parse errors carry the line and column; evaluation errors
(``single()`` on many items, comparing a string with a number...) stop the evaluation.
"""

from __future__ import annotations

from yteso.fhir.errors import Invalid


class FhirPathError(Invalid):
    """Any FHIRPath failure."""


class FhirPathSyntaxError(FhirPathError):
    """The expression does not parse; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        self.line = line
        self.column = column
        super().__init__(f"FHIRPath syntax error at line {line}, column {column}: {message}")


class FhirPathEvaluationError(FhirPathError):
    """The expression parsed but its evaluation failed."""


__all__ = ["FhirPathError", "FhirPathEvaluationError", "FhirPathSyntaxError"]
