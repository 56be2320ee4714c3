"""Conditional interactions find their target by search criteria.

https://hl7.org/fhir/R4/http.html#cond-update — criteria the server cannot evaluate would
match everything, so unknown parameters are always an error here (never ignored).
"""

from __future__ import annotations

from dataclasses import replace

from yteso.api.exchange import ApiContext
from yteso.api.routing import parse_query
from yteso.api.search_params import parse_search
from yteso.fhir.errors import Invalid
from yteso.store.base import SearchQuery, StoredVersion, StoreSession


def conditional_query(ctx: ApiContext, resource_type: str, criteria: str) -> SearchQuery:
    """``identifier=x`` or ``Patient?identifier=x`` → a query for ``resource_type``."""
    query_string = criteria.split("?", 1)[1] if "?" in criteria else criteria
    params = parse_query(query_string)
    if not params:
        raise Invalid(f"Conditional criteria {criteria!r} name no search parameter")
    parsed = parse_search(params, ctx.supported_params(resource_type), strict=True)
    if not parsed.query.params:
        raise Invalid(f"Conditional criteria {criteria!r} name no search parameter")
    return replace(parsed.query, count=2, total=None, sort=())


def conditional_matches(
    ctx: ApiContext, session: StoreSession, resource_type: str, criteria: str
) -> list[StoredVersion]:
    """At most two current matches: enough to tell none, one and several apart."""
    query = conditional_query(ctx, resource_type, criteria)
    return [m for m in session.search(resource_type, query).matches if not m.deleted][:2]


__all__ = ["conditional_matches", "conditional_query"]
