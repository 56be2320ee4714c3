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

from yteso.api import (
    OPEN_ACCESS_FOR_TESTS,
    AccessControl,
    SmartAccessControl,
    create_fhir_app,
    fhir_routes,
)
from yteso.api.operations.bulk_export import export_operations
from yteso.api.operations.mpi import mpi_operations
from yteso.auth import SecurityServices
from yteso.modules.mpi import MpiRegistry
from yteso.mpi import MatchModel, Thresholds
from yteso.mpi.stored_matching import StoredMatcher
from yteso.store import open_store
from yteso.store.auth_records import auth_records
from yteso.store.base import Store
from yteso.web import MetricsMiddleware, admin_routes, auth_routes, health_routes, landing_routes
from yteso.web.indicators import IndicatorService, indicator_routes

FHIR_BASE = "/fhir"


def default_database_url() -> str:
    """``sqlite:///$YTESO_HOME/yteso.db`` with ``YTESO_HOME`` defaulting to ``./.yteso``."""
    home = yteso_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(home / 'yteso.db').resolve()}"


def yteso_home() -> Path:
    return Path(os.environ.get("YTESO_HOME", ".yteso"))


def open_security(
    home: Path | None = None,
    syslog: tuple[str, int] | None = None,
    store: Store | None = None,
) -> SecurityServices:
    """Keys and audit log under ``$YTESO_HOME/auth`` (keys are made on first start); users,
    clients, codes, refresh tokens, revocations and login failures in ``store``'s database
    (shared by every server process on it; this process's memory without a store, enough
    for signing tokens); ``syslog`` (host, UDP port) also sends the security feed as RFC
    5424 messages."""
    state = auth_records(store) if store is not None else None
    return SecurityServices.open((home or yteso_home()) / "auth", syslog=syslog, state=state)


def mpi_model_path() -> Path:
    """Where ``yteso mpi link`` saves a model trained on the store's own population."""
    return yteso_home() / "mpi-model.json"


#: Environment variables that set the MPI's decision thresholds for every process on a host
#: (server, ``yteso mpi link``), so the live and the batch decisions agree.
AUTO_LINK_ENV = "YTESO_MPI_AUTO_LINK"
REVIEW_ENV = "YTESO_MPI_REVIEW"


def mpi_thresholds(auto_link: float | None = None, review: float | None = None) -> Thresholds:
    """The MPI thresholds: each value given here, else from its environment variable
    (``YTESO_MPI_AUTO_LINK``, ``YTESO_MPI_REVIEW``), else the default of ``Thresholds``.
    Raises ``ValueError``: naming the variable when it is not a number, or (``Thresholds``)
    when a value is outside 0-1 or review is above auto-link."""
    default = Thresholds()
    values: dict[str, float] = {}
    for name, given, fallback in (
        (AUTO_LINK_ENV, auto_link, default.auto_link),
        (REVIEW_ENV, review, default.review),
    ):
        text = os.environ.get(name, "").strip()
        try:
            values[name] = given if given is not None else float(text) if text else fallback
        except ValueError:
            raise ValueError(f"{name}={text!r} is not a number") from None
    return Thresholds(auto_link=values[AUTO_LINK_ENV], review=values[REVIEW_ENV])


def install_mpi(
    store: Store, model_path: Path | None = None, thresholds: Thresholds | None = None
) -> MpiRegistry:
    """Match every Patient written to ``store`` (all write paths; bulk loads keep the match
    records only) with the model at ``model_path`` (default: ``$YTESO_HOME/mpi-model.json``
    when present, else the shipped one) and ``thresholds`` (default: ``mpi_thresholds()``,
    which reads the environment)."""
    path = model_path or mpi_model_path()
    model = MatchModel.load(path) if path.exists() else MatchModel.default()
    registry = MpiRegistry(StoredMatcher(model, thresholds or mpi_thresholds()))
    store.hooks = registry.hooks()
    return registry


def create_app(
    store: Store,
    *,
    security: SecurityServices | None = None,
    insecure_no_auth: bool = False,
    exports_dir: Path | None = None,
    indicators_db: Path | None = None,
    mpi: MpiRegistry | None = None,
) -> Starlette:
    """The whole platform as one ASGI application over an open store.

    Secure by default: ``/fhir`` needs a bearer token signed by ``security`` (opened from
    ``$YTESO_HOME/auth`` when not given). ``insecure_no_auth`` serves it open, for local
    experiments only (the CLI allows it only for SQLite on a loopback address). Bulk exports
    are written under ``exports_dir`` (default ``$YTESO_HOME/exports``); indicator aggregates
    are kept in ``indicators_db`` (default ``$YTESO_HOME/warehouse/indicators.duckdb``). The
    master patient index (``mpi``, installed on ``store`` when not given) matches every
    Patient write."""
    registry = CollectorRegistry()
    security = security or open_security(store=store)
    access: AccessControl = (
        OPEN_ACCESS_FOR_TESTS
        if insecure_no_auth
        else SmartAccessControl(security.tokens, security.record)
    )
    exports = export_operations(exports_dir or yteso_home() / "exports")
    operations = [*exports, *mpi_operations(mpi or install_mpi(store))]
    fhir = create_fhir_app(store, access=access, base_url_path=FHIR_BASE, operations=operations)
    indicators = IndicatorService(
        store, indicators_db or yteso_home() / "warehouse" / "indicators.duckdb"
    )
    routes = [
        *landing_routes(store, FHIR_BASE),
        *indicator_routes(indicators, None if insecure_no_auth else security),
        *health_routes(store, registry),
        *auth_routes(security, FHIR_BASE),
        *admin_routes(security),
        *fhir_routes(fhir, FHIR_BASE),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        indicators.close()
        security.audit.close()  # sign the audit head over the last records
        security.feed.close()
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


__all__ = [
    "FHIR_BASE",
    "create_app",
    "create_app_from_url",
    "default_database_url",
    "install_mpi",
    "mpi_model_path",
    "mpi_thresholds",
    "open_security",
    "yteso_home",
]
