"""Web pages and operational endpoints (landing page, health, metrics)."""

from __future__ import annotations

from yteso.web.auth_routes import auth_routes
from yteso.web.landing import landing_routes
from yteso.web.observability import MetricsMiddleware, health_routes

__all__ = ["MetricsMiddleware", "auth_routes", "health_routes", "landing_routes"]
