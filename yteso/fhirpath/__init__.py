"""FHIRPath 2.0.0 as FHIR R4 uses it: tokenizer -> parser -> AST -> compiled closures.

https://hl7.org/fhirpath/N1/ and https://hl7.org/fhir/R4/fhirpath.html.

    >>> from yteso.fhirpath import evaluate
    >>> evaluate({"resourceType": "Patient", "active": True}, "Patient.active")
    [True]
"""

from __future__ import annotations

from yteso.fhirpath.context import Environment, Services
from yteso.fhirpath.engine import CompiledExpression, compile, evaluate
from yteso.fhirpath.errors import FhirPathError, FhirPathEvaluationError, FhirPathSyntaxError
from yteso.fhirpath.invariants import check_invariants
from yteso.fhirpath.parser import parse
from yteso.fhirpath.patch import apply_fhirpath_patch
from yteso.fhirpath.quantity import Quantity
from yteso.fhirpath.temporal import Temporal
from yteso.fhirpath.values import Node

__all__ = [
    "CompiledExpression",
    "Environment",
    "FhirPathError",
    "FhirPathEvaluationError",
    "FhirPathSyntaxError",
    "Node",
    "Quantity",
    "Services",
    "Temporal",
    "apply_fhirpath_patch",
    "check_invariants",
    "compile",
    "evaluate",
    "parse",
]
