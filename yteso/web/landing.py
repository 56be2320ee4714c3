"""The landing page at ``/``: what is running (version, database, resource counts) and links."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from yteso import __version__
from yteso.store.base import Store

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def redacted_url(url: str) -> str:
    """The database URL without a password, safe to show on a page."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    user = f"{parts.username}:***@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, parts.query, ""))


def landing_routes(store: Store, fhir_base: str = "/fhir") -> list[Route]:
    template = _TEMPLATES.get_template("landing.html")

    async def landing(request: Request) -> HTMLResponse:
        counts = sorted(store.counts().items())
        html = template.render(
            version=__version__,
            dialect=store.dialect,
            database=redacted_url(store.url),
            counts=counts,
            total=sum(n for _, n in counts),
            fhir_base=fhir_base,
        )
        return HTMLResponse(html)

    return [Route("/", landing, methods=["GET"])]
