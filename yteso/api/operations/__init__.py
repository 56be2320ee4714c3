"""Operations declared as data (Blaze style): name, levels, types, handler, definition URL.

https://hl7.org/fhir/R4/operations.html — the router dispatches ``$name`` through this table
and the CapabilityStatement lists it, so a module adds an operation by declaring one more
:class:`Operation` (``create_fhir_app(store, access=..., operations=[...])``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse

OperationHandler = Callable[[ApiContext, FhirRequest], FhirResponse]


@dataclass(frozen=True)
class Operation:
    """One operation: where it may be invoked and the code that runs it."""

    name: str  # without the "$": "validate"
    definition: str  # canonical URL of its OperationDefinition
    handler: OperationHandler
    system: bool = False
    type: bool = False
    instance: bool = False
    resource_types: frozenset[str] | None = None  # None: every resource type
    methods: frozenset[str] = frozenset({"POST"})
    affects_state: bool = False
    formats: frozenset[str] = frozenset()  # ``_format`` values it answers besides JSON
    media_types: frozenset[str] = frozenset()  # ``Accept`` media types it answers besides JSON
    #: a permission (c r u d s) the caller needs on the type without compartment or filter
    #: restriction, for operations that reach beyond one patient's records (the MPI's)
    unrestricted: str | None = None

    def produces(self, format_param: str | None, accept: str | None) -> bool:
        """Whether it answers the ``_format`` asked for, else one of the ``Accept`` ranges."""
        if format_param is not None:
            return format_param.lower() in self.formats
        ranges = (part.split(";", 1)[0].strip().lower() for part in (accept or "").split(","))
        return any(media_type in self.media_types for media_type in ranges)

    def allowed_at(self, resource_type: str | None, id: str | None) -> bool:
        if resource_type is None:
            return self.system
        if self.resource_types is not None and resource_type not in self.resource_types:
            return False
        return self.instance if id is not None else self.type


def operation_table(operations: Iterable[Operation]) -> dict[str, Operation]:
    """``{"$validate": Operation(...)}``; a name declared twice is a wiring mistake."""
    table: dict[str, Operation] = {}
    for operation in operations:
        key = "$" + operation.name
        if key in table:
            raise ValueError(f"operation {key} declared twice")
        table[key] = operation
    return table


def builtin_operations() -> list[Operation]:
    from yteso.api.operations.reindex import REINDEX
    from yteso.api.operations.validate import VALIDATE
    from yteso.api.operations.view_run import VIEW_RUN

    return [VALIDATE, REINDEX, VIEW_RUN]


__all__ = ["Operation", "OperationHandler", "builtin_operations", "operation_table"]
