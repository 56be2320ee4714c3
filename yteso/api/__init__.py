"""The FHIR R4 REST API (https://hl7.org/fhir/R4/http.html) as a Starlette application.

``create_fhir_app(store, access=...)`` serves every interaction over a
:class:`yteso.store.base.Store`, each one through ``access`` (:mod:`yteso.api.access`);
operations are declared as data (:class:`Operation`) and listed in the CapabilityStatement.
"""

from __future__ import annotations

from yteso.api.access import OPEN_ACCESS_FOR_TESTS, AccessControl, RequestGuard
from yteso.api.app import DEFAULT_MAX_BODY_BYTES, create_fhir_app, fhir_routes
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.operations import Operation, OperationHandler
from yteso.api.smart_access import SmartAccessControl

__all__ = [  # noqa: RUF022 - plain sorted order, as tests/test_public_api.py checks
    "AccessControl",
    "ApiContext",
    "DEFAULT_MAX_BODY_BYTES",
    "FhirRequest",
    "FhirResponse",
    "OPEN_ACCESS_FOR_TESTS",
    "Operation",
    "OperationHandler",
    "RequestGuard",
    "SmartAccessControl",
    "create_fhir_app",
    "fhir_routes",
]
