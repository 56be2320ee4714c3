"""history: instance, type and system — https://hl7.org/fhir/R4/http.html#history

``_since`` (an instant), ``_count`` and paging links from the store's cursor; newest first.
"""

from __future__ import annotations

from datetime import datetime

from yteso.api.access import screened
from yteso.api.bundle_builders import history_bundle
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.search_params import DATE_VALUE, MAX_COUNT
from yteso.fhir.errors import Invalid

DEFAULT_COUNT = 100


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    if not DATE_VALUE.fullmatch(value) or "T" not in value:
        raise Invalid(f"_since: {value!r} is not an instant", expression="_since")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Invalid(f"_since: {value!r} is not an instant", expression="_since") from exc
    if moment.tzinfo is None:
        raise Invalid(f"_since: {value!r} needs a time zone", expression="_since")
    return moment


def _count(value: str | None) -> int:
    if value is None:
        return DEFAULT_COUNT
    if not value.isdigit() or len(value) > 9:
        raise Invalid(f"_count: {value!r} is not a non-negative integer", expression="_count")
    return min(int(value), MAX_COUNT)


def history(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    result = ctx.store.history(
        request.resource_type,
        request.id,
        since=_since(request.param("_since")),
        count=_count(request.param("_count")),
        cursor=request.param("_cursor"),
    )
    permission = "r" if request.id is not None else "s"
    result = screened(ctx.guard, result, permission, request.resource_type)
    bundle = history_bundle(ctx, request, result)
    return FhirResponse(200, resource=bundle, returned=tuple(result.matches))
