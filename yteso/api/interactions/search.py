"""search: ``GET [base]/[type]?...``, ``POST [base]/[type]/_search``, ``GET [base]?_type=...``.

https://hl7.org/fhir/R4/http.html#search and https://hl7.org/fhir/R4/search.html — a
``searchset`` Bundle with ``self``/``next``/``previous`` links, ``fullUrl`` and ``search.mode``;
ignored parameters are reported in an OperationOutcome entry (``search.mode = outcome``).
"""

from __future__ import annotations

from dataclasses import replace

from yteso.api.access import caller_reach, screened
from yteso.api.bundle_builders import bundle, embedded, paging_links
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.search_params import ParsedSearch, parse_search, requested_types
from yteso.fhir.errors import Invalid, Issue, operation_outcome
from yteso.fhir.types import Json
from yteso.store.base import SearchParam, SearchResult, StoredVersion


def _entry(ctx: ApiContext, stored: StoredVersion, mode: str, parsed: ParsedSearch) -> Json:
    elements = ",".join(parsed.elements) or None
    return {
        "fullUrl": f"{ctx.base_url}/{stored.resource_type}/{stored.id}",
        "resource": embedded(stored, parsed.summary, elements),
        "search": {"mode": mode},
    }


def _outcome_entry(unknown: tuple[str, ...]) -> Json:
    issue = Issue(
        "warning",
        "not-supported",
        f"Search parameter(s) ignored (unknown or not supported): {', '.join(unknown)}",
    )
    return {"resource": operation_outcome([issue]), "search": {"mode": "outcome"}}


def _supported(ctx: ApiContext, request: FhirRequest) -> frozenset[str]:
    """The parameters a search may use: its type's; for a system search with ``_type``, those
    every listed type has (https://hl7.org/fhir/R4/search.html#_type); else Resource's."""
    if request.resource_type is not None:
        return ctx.supported_params(request.resource_type)
    types = requested_types(request.params)
    unknown = [t for t in types if t not in ctx.resource_types]
    if unknown:
        raise Invalid(f"_type: unknown resource type(s) {', '.join(unknown)}", expression="_type")
    if not types:
        return ctx.supported_params(None)
    return frozenset.intersection(*(ctx.supported_params(t) for t in types))


def _parse(ctx: ApiContext, request: FhirRequest) -> ParsedSearch:
    supported = _supported(ctx, request)
    parsed = parse_search(request.params, supported, strict=request.prefer_strict)
    reach = caller_reach(ctx.guard, "s")  # chains and _has look only at what it may see
    parsed = replace(parsed, query=replace(parsed.query, reach=reach))
    if request.resource_type is None and parsed.types:
        if len(parsed.types) > 1:  # the store filters on the type column
            types = SearchParam("_type", parsed.types)
            query = replace(parsed.query, params=(*parsed.query.params, types))
            parsed = replace(parsed, query=query)
    if parsed.summary == "count":
        parsed = replace(parsed, query=replace(parsed.query, count=0, total="accurate"))
    return parsed


def _run(ctx: ApiContext, request: FhirRequest, parsed: ParsedSearch) -> SearchResult:
    single = parsed.types[0] if len(parsed.types) == 1 else None
    resource_type = request.resource_type or single
    if ctx.session is not None:
        return ctx.session.search(resource_type, parsed.query)
    return ctx.store.search(resource_type, parsed.query)


def search(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    parsed = _parse(ctx, request)
    # several types: screened as a system search (a total only when nothing is restricted)
    single = parsed.types[0] if len(parsed.types) == 1 else None
    searched = request.resource_type or single
    result = screened(ctx.guard, _run(ctx, request, parsed), "s", searched)
    entries = [_entry(ctx, stored, "match", parsed) for stored in result.matches]
    entries += [_entry(ctx, stored, "include", parsed) for stored in result.included]
    if parsed.unknown:
        entries.append(_outcome_entry(parsed.unknown))
    if parsed.summary == "count":
        entries = []
    links = paging_links(ctx, request, result)
    returned = () if parsed.summary == "count" else (*result.matches, *result.included)
    searchset = bundle("searchset", links, entries, result.total)
    return FhirResponse(200, resource=searchset, returned=returned)
