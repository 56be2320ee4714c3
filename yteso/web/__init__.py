"""Web pages and operational endpoints (landing page, health, metrics)."""

from __future__ import annotations

from yteso.web.landing import landing_routes
from yteso.web.observability import MetricsMiddleware, health_routes

__all__ = ["MetricsMiddleware", "health_routes", "landing_routes"]
