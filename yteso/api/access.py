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

from yteso.store.base import Reach, SearchResult, StoredVersion

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

    def grants(self, resource_type: str, permission: str) -> bool:
        """Whether the caller's scopes give ``permission`` on the type at all."""
        ...

    def reach(self, permission: str) -> Reach:
        """What the caller may see, for the store to evaluate criteria over (chains, ``_has``,
        conditional matches considered with ``permission``)."""
        ...

    def restricted(self, resource_type: str | None, permission: str) -> bool:
        """Whether results of this type are checked one by one (then a store total, counted
        before the checks, would tell how many hidden resources match)."""
        ...

    def record(
        self,
        ctx: ApiContext,
        request: FhirRequest,
        status: int,
        response: FhirResponse | None = None,
    ) -> None:
        """Audit one interaction (allowed or denied) once it is decided; ``response`` (when
        it succeeded) names the resources it read or wrote."""
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


def caller_reach(guard: RequestGuard | None, permission: str) -> Reach | None:
    return None if guard is None else guard.reach(permission)


def screened(
    guard: RequestGuard | None, result: SearchResult, permission: str, resource_type: str | None
) -> SearchResult:
    """``result`` without what ``guard`` hides; no total when results are checked one by one
    (even ``_summary=count``: a count of hidden resources is itself a disclosure)."""
    if guard is None:
        return result
    matches = [s for s in result.matches if guard.visible(s, permission)]
    included = [s for s in result.included if guard.visible(s, "r")]
    total = None if guard.restricted(resource_type, permission) else result.total
    return replace(result, matches=matches, included=included, total=total)


__all__ = ["OPEN_ACCESS_FOR_TESTS", "AccessControl", "RequestGuard", "caller_reach", "screened"]
