"""Operational endpoints: liveness ``/healthz``, readiness ``/readyz``, Prometheus ``/metrics``."""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yteso.store.base import Store


class MetricsMiddleware:
    """Counts requests and their latency by method, first path segment and status.

    A plain ASGI middleware (not BaseHTTPMiddleware) so it adds microseconds, not a task switch.
    The path label is only the first segment (``fhir``, ``metrics``) to keep cardinality bounded.
    """

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "yteso_http_requests", "HTTP requests", ["method", "area", "status"], registry=registry
        )
        self.latency = Histogram(
            "yteso_http_request_seconds", "HTTP request latency", ["area"], registry=registry
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        area = scope["path"].strip("/").split("/", 1)[0] or "root"

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.requests.labels(scope["method"], area, str(status)).inc()
            self.latency.labels(area).observe(time.perf_counter() - start)


def health_routes(store: Store, registry: CollectorRegistry) -> list[Route]:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        try:
            store.history(count=1)  # one indexed row: proves the database answers, cheaply
        except Exception as exc:  # any database failure means not ready
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "database": store.dialect})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
