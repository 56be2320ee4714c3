"""Conditional interactions find their target by search criteria.

https://hl7.org/fhir/R4/http.html#cond-update — criteria the server cannot evaluate would
match everything, so unknown parameters are always an error here (never ignored). The criteria
consider only what the caller may see (with the interaction's permission): a match it may not
see is treated as absent, so the answer never tells whether one exists.
"""

from __future__ import annotations

from dataclasses import replace

from yteso.api.access import caller_reach
from yteso.api.exchange import ApiContext
from yteso.api.routing import parse_query
from yteso.api.search_params import parse_search
from yteso.fhir.errors import Invalid
from yteso.store.base import SearchQuery, StoredVersion, StoreSession

SCREENED_PAGE = 100  # matches read per page when each is checked (hidden ones skipped)


def conditional_query(
    ctx: ApiContext, resource_type: str, criteria: str, permission: str
) -> SearchQuery:
    """``identifier=x`` or ``Patient?identifier=x`` → a query for ``resource_type``, for an
    interaction needing ``permission`` on its match (``r``: a conditional create's match is
    handed back)."""
    query_string = criteria.split("?", 1)[1] if "?" in criteria else criteria
    params = parse_query(query_string)
    if not params:
        raise Invalid(f"Conditional criteria {criteria!r} name no search parameter")
    parsed = parse_search(params, ctx.supported_params(resource_type), strict=True)
    if not parsed.query.params:
        raise Invalid(f"Conditional criteria {criteria!r} name no search parameter")
    reach = caller_reach(ctx.guard, permission)
    return replace(parsed.query, count=2, total=None, sort=(), reach=reach)


def conditional_matches(
    ctx: ApiContext, session: StoreSession, resource_type: str, criteria: str, permission: str
) -> list[StoredVersion]:
    """At most two current matches the caller may see: enough to tell none, one and several
    apart."""
    query = conditional_query(ctx, resource_type, criteria, permission)
    sees = query.reach.sees if query.reach is not None else None
    query = replace(query, count=SCREENED_PAGE if sees is not None else 2)
    found: list[StoredVersion] = []
    while len(found) < 2:
        result = session.search(resource_type, query)
        found += [m for m in result.matches if not m.deleted and (sees is None or sees(m))]
        if result.next_cursor is None:
            break
        query = replace(query, cursor=result.next_cursor)
    return found[:2]


__all__ = ["conditional_matches", "conditional_query"]
