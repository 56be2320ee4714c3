"""One module per FHIR RESTful interaction (https://hl7.org/fhir/R4/http.html), Blaze style."""

from __future__ import annotations

from yteso.api.interactions import (
    capabilities,
    create,
    delete,
    history,
    patch,
    read,
    search,
    transaction,
    update,
    vread,
)

__all__ = [
    "capabilities",
    "create",
    "delete",
    "history",
    "patch",
    "read",
    "search",
    "transaction",
    "update",
    "vread",
]
