"""Composition root: the only code that knows every part of the platform.

It opens the store named by the database URL, mounts the FHIR REST API at ``/fhir``, the web
pages at ``/`` and the operational endpoints, and (later) wires each module's manifest.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware

from yteso.api import create_fhir_app, fhir_routes
from yteso.store import open_store
from yteso.store.base import Store
from yteso.web import MetricsMiddleware, health_routes, landing_routes

FHIR_BASE = "/fhir"


def default_database_url() -> str:
    """``sqlite:///$YTESO_HOME/yteso.db`` with ``YTESO_HOME`` defaulting to ``./.yteso``."""
    home = Path(os.environ.get("YTESO_HOME", ".yteso"))
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(home / 'yteso.db').resolve()}"


def create_app(store: Store) -> Starlette:
    """The whole platform as one ASGI application over an open store."""
    registry = CollectorRegistry()
    fhir = create_fhir_app(store, base_url_path=FHIR_BASE)
    routes = [
        *landing_routes(store, FHIR_BASE),
        *health_routes(store, registry),
        *fhir_routes(fhir, FHIR_BASE),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        store.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(MetricsMiddleware, registry=registry)],
        lifespan=lifespan,
    )
    app.state.store = store
    return app


def create_app_from_url(url: str | None = None) -> Starlette:
    return create_app(open_store(url or default_database_url()))


__all__ = ["FHIR_BASE", "create_app", "create_app_from_url", "default_database_url"]
