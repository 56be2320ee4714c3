"""What one caller may see, handed to the store with the criteria it evaluates for them.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html — scopes limit every
interaction, including the criteria of chains, ``_has`` (https://hl7.org/fhir/R4/search.html
#has) and conditional interactions (https://hl7.org/fhir/R4/http.html#cond-update): those look
at resources the answer does not show, so they must only look at what the caller may see.
"""

from __future__ import annotations

from collections.abc import Callable

from yteso.auth import ResourceAccess
from yteso.store.base import SearchParam, StoredVersion

Visible = Callable[[StoredVersion, str], bool]


class CallerReach:
    """A :class:`yteso.store.base.Reach` over one caller's scopes: search criteria per type
    (from :meth:`ResourceAccess.search_criteria`) and, for conditional matches, the
    per-resource check with the interaction's ``permission``."""

    def __init__(self, access: ResourceAccess, visible: Visible, permission: str) -> None:
        self.access = access
        self.visible = visible
        self.permission = permission
        self._criteria: dict[str, tuple[SearchParam, ...] | None] = {}

    def criteria(self, resource_type: str) -> tuple[SearchParam, ...] | None:
        if resource_type not in self._criteria:
            found = self.access.search_criteria(resource_type)
            self._criteria[resource_type] = None if found is None else tuple(map(_param, found))
        return self._criteria[resource_type]

    def sees(self, stored: StoredVersion) -> bool:
        return self.visible(stored, self.permission)


def _param(criterion: tuple[str, str]) -> SearchParam:
    name, value = criterion
    code, _, modifier = name.partition(":")
    return SearchParam(code, tuple(value.split(",")), modifier or None)


__all__ = ["CallerReach"]
