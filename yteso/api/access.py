"""The authorisation seam every interaction passes through.

:func:`yteso.api.dispatch.dispatch` (single requests, each batch/transaction entry, operations)
calls the request's :class:`RequestGuard` before and after the interaction; search and history
drop what :meth:`RequestGuard.visible` refuses. An app is built with an :class:`AccessControl`
that turns the ``Authorization`` header into a guard; :data:`OPEN_ACCESS_FOR_TESTS` is the only
way to build it without one, and says so in its name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from yteso.store.base import SearchResult, StoredVersion

if TYPE_CHECKING:
    from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse


class RequestGuard(Protocol):
    """The access decisions for one authenticated caller."""

    def before(self, ctx: ApiContext, request: FhirRequest) -> FhirRequest:
        """Refuse (Forbidden, NotFound) or narrow the request (search parameters ANDed in)."""
        ...

    def after(self, ctx: ApiContext, request: FhirRequest, response: FhirResponse) -> None:
        """Refuse a response the caller may not see (e.g. a version read): raise NotFound."""
        ...

    def visible(self, stored: StoredVersion, permission: str) -> bool:
        """Whether one resource going out in a search or history may be shown."""
        ...

    def record(self, ctx: ApiContext, request: FhirRequest, status: int) -> None:
        """Audit one interaction (allowed or denied) once it is decided."""
        ...


class AccessControl(Protocol):
    def guard_for(self, authorization: str | None, client: str) -> RequestGuard | None:
        """The guard of the caller with this ``Authorization`` header (Unauthorized when the
        credentials are missing or invalid); None only for open access in tests."""
        ...


class _OpenAccessForTests:
    """No authentication and no checks: for tests of the interactions themselves only."""

    def guard_for(self, authorization: str | None, client: str) -> RequestGuard | None:
        return None


OPEN_ACCESS_FOR_TESTS: AccessControl = _OpenAccessForTests()


def screened(guard: RequestGuard | None, result: SearchResult, permission: str) -> SearchResult:
    """``result`` without what ``guard`` hides; the total is dropped when something was hidden
    (it would tell how many hidden resources matched)."""
    if guard is None:
        return result
    matches = [s for s in result.matches if guard.visible(s, permission)]
    included = [s for s in result.included if guard.visible(s, "r")]
    if len(matches) == len(result.matches) and len(included) == len(result.included):
        return result
    total = result.total if len(matches) == len(result.matches) else None
    return replace(result, matches=matches, included=included, total=total)


__all__ = ["OPEN_ACCESS_FOR_TESTS", "AccessControl", "RequestGuard", "screened"]
