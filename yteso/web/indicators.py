"""Indicators and data-quality scores over HTTP (``/api/indicators``, ``/api/quality``).

The warehouse state is a DuckDB file (``$YTESO_HOME/warehouse/indicators.duckdb`` by
default) fed from the store: ``POST /api/indicators/$run`` (or ``yteso indicators run``) reads
what changed since the last run. Access rule: aggregate data is not personal data, but it is not
public either: every call needs a valid bearer token with a ``user/`` or ``system/`` scope that
grants read on ``MeasureReport`` (``user/MeasureReport.rs``, ``system/*.rs``, ...); tokens that
only speak for a patient (``patient/`` scopes) get 403. ``$run`` needs a ``system/`` scope.
Every call is audited like a FHIR read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from yteso.auth import Principal, SecurityServices, audit_event
from yteso.fhir.errors import FhirError, Invalid, NotFound, Unauthorized
from yteso.fhir.types import Json
from yteso.store.base import Store
from yteso.store.instants import parse_instant
from yteso.store.ndjson_export import ExportPlan, planned_versions
from yteso.warehouse.indicators import (
    IndicatorWarehouse,
    RunReport,
    measure_report,
    query_indicator,
    query_quality,
)

MEASURE_REPORT = "MeasureReport"
HISTORY_PAGE = 1000


class StoreFeed:
    """The store as a :class:`yteso.warehouse.indicators.ResourceFeed`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def changed(self, resource_types: Sequence[str], since: str | None) -> Iterator[Json]:
        moment = parse_instant(since) if since else None
        for stored in planned_versions(self.store, ExportPlan(tuple(resource_types), moment)):
            yield stored.resource()

    def deleted(
        self, resource_types: Sequence[str], since: str | None
    ) -> Iterable[tuple[str, str]]:
        if since is None:
            return []
        moment = parse_instant(since)
        gone: set[tuple[str, str]] = set()
        for resource_type in resource_types:
            cursor = None
            while True:
                page = self.store.history(
                    resource_type, since=moment, count=HISTORY_PAGE, cursor=cursor
                )
                gone.update(
                    (v.resource_type, v.id)
                    for v in page.matches
                    if v.deleted and v.last_updated > moment
                )
                cursor = page.next_cursor
                if cursor is None:
                    break
        return sorted(gone)


class IndicatorService:
    """One warehouse per process; runs and reads take turns (DuckDB has one writer)."""

    def __init__(self, store: Store, database: Path) -> None:
        self.store = store
        self.database = database
        self.lock = threading.Lock()
        self._warehouse: IndicatorWarehouse | None = None

    def _opened(self) -> IndicatorWarehouse:
        """Opened on first use, so that an app that never serves indicators holds no file."""
        if self._warehouse is None:
            self.database.parent.mkdir(parents=True, exist_ok=True)
            self._warehouse = IndicatorWarehouse(self.database)
        return self._warehouse

    def run(self, *, full: bool = False) -> RunReport:
        with self.lock:
            return self._opened().run(StoreFeed(self.store), full=full)

    def read(self, action: Any) -> Any:
        with self.lock:
            return action(self._opened())

    def close(self) -> None:
        with self.lock:
            if self._warehouse is not None:
                self._warehouse.close()
                self._warehouse = None


def _error(status: int, code: str, text: str) -> JSONResponse:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return JSONResponse(outcome, status_code=status, media_type="application/fhir+json")


def _list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def indicator_routes(service: IndicatorService, security: SecurityServices | None) -> list[Route]:
    """``security`` None serves the routes open (tests and ``--insecure-no-auth`` only)."""

    def allowed(request: Request, *, system: bool = False) -> Principal | Response | None:
        if security is None:
            return None
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise Unauthorized("A bearer access token is required")
            principal = security.tokens.verify(bearer.strip())
        except Unauthorized as error:
            return _error(401, "login", str(error))
        contexts = {"system"} if system else {"user", "system"}
        grants = [
            s
            for permission in ("r", "s")
            for s in principal.scopes.granting(MEASURE_REPORT, permission)
        ]
        if not any(s.context in contexts for s in grants):
            need = "a system/" if system else "a user/ or system/"
            return _error(403, "forbidden", f"{need} scope granting read on MeasureReport")
        return principal

    def audited(request: Request, principal: Principal | None, status: int, what: str) -> None:
        if security is None or principal is None:
            return
        security.record(
            audit_event(
                interaction="read",
                subject=principal.subject,
                client_id=principal.client_id,
                network_address=request.client.host if request.client else "",
                status=status,
                what=what,
                query=str(request.url.query) or None,
            )
        )

    async def answer(request: Request, what: str, action: Any, system: bool = False) -> Response:
        principal = allowed(request, system=system)
        if isinstance(principal, Response):
            return principal
        try:
            body = await run_in_threadpool(action)
        except NotFound as error:
            audited(request, principal, 404, what)
            return _error(404, "not-found", str(error))
        except (Invalid, FhirError) as error:
            audited(request, principal, 400, what)
            return _error(400, "invalid", str(error))
        except duckdb.IOException as error:  # another process (yteso indicators run) holds it
            audited(request, principal, 503, what)
            return _error(503, "transient", f"the indicator warehouse is busy: {error}")
        audited(request, principal, 200, what)
        return JSONResponse(body)

    async def list_indicators(request: Request) -> Response:
        def action() -> Json:
            listed: Json = service.read(
                lambda w: {
                    "indicators": [i.summary() for i in w.indicators.values()],
                    "checks": [c.summary() for c in w.checks.values()],
                    "watermark": w.state("watermark"),
                }
            )
            return listed

        return await answer(request, "indicators", action)

    async def show_indicator(request: Request) -> Response:
        ident = request.path_params["ident"]
        params = request.query_params

        def action() -> Json:
            by = _list(params.get("by"))
            period = params.get("period", "month")

            def read(w: IndicatorWarehouse) -> Json:
                rows = query_indicator(
                    w, ident, period=period, by=by, start=params.get("from"), end=params.get("to")
                )
                found = w.indicators[ident]
                if params.get("format", "").lower() == "measurereport":
                    return measure_report(found, rows, by, params.get("from"), params.get("to"))
                return {"indicator": found.summary(), "period": period, "by": by, "rows": rows}

            result: Json = service.read(read)
            return result

        return await answer(request, f"indicators/{ident}", action)

    async def quality(request: Request) -> Response:
        params = request.query_params

        def action() -> Json:
            period = params.get("period", "month")
            rows = service.read(
                lambda w: query_quality(
                    w,
                    period=None if period == "all" else period,
                    by=_list(params.get("by", "facility")),
                    check=params.get("check"),
                    dimension=params.get("dimension"),
                    start=params.get("from"),
                    end=params.get("to"),
                )
            )
            return {"rows": rows}

        return await answer(request, "quality", action)

    async def run(request: Request) -> Response:
        full = request.query_params.get("full", "false").lower() == "true"
        return await answer(
            request, "indicators/$run", lambda: service.run(full=full).as_json(), system=True
        )

    return [
        Route("/api/indicators", list_indicators, methods=["GET"]),
        Route("/api/indicators/$run", run, methods=["POST"]),
        Route("/api/indicators/{ident}", show_indicator, methods=["GET"]),
        Route("/api/quality", quality, methods=["GET"]),
    ]


__all__ = ["IndicatorService", "StoreFeed", "indicator_routes"]
