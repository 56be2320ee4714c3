"""The FHIR R4 REST API (https://hl7.org/fhir/R4/http.html) as a Starlette application.

``create_fhir_app(store)`` serves every interaction over a :class:`yteso.store.base.Store`;
operations are declared as data (:class:`Operation`) and listed in the CapabilityStatement.
"""

from __future__ import annotations

from yteso.api.app import DEFAULT_MAX_BODY_BYTES, create_fhir_app, fhir_routes
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.operations import Operation, OperationHandler

__all__ = [  # noqa: RUF022 - plain sorted order, as tests/test_public_api.py checks
    "ApiContext",
    "DEFAULT_MAX_BODY_BYTES",
    "FhirRequest",
    "FhirResponse",
    "Operation",
    "OperationHandler",
    "create_fhir_app",
    "fhir_routes",
]
