"""Web pages and operational endpoints (landing page, health, metrics)."""

from __future__ import annotations

from yteso.web.admin_routes import admin_routes
from yteso.web.auth_routes import auth_routes
from yteso.web.landing import landing_routes
from yteso.web.observability import MetricsMiddleware, health_routes

__all__ = ["MetricsMiddleware", "admin_routes", "auth_routes", "health_routes", "landing_routes"]
