"""Helpers shared by the API tests."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.types import ASGIApp

FHIR_JSON = {"Content-Type": "application/fhir+json"}


class FhirClient:
    """A synchronous httpx client over the ASGI app (httpx's ASGITransport, in an event loop
    thread): the real app and store, no network."""

    def __init__(self, app: ASGIApp, base_url: str = "http://testserver") -> None:
        self._app = app
        self._base_url = base_url
        self._stack = ExitStack()
        self._portal: BlockingPortal | None = None
        self._client: httpx.AsyncClient | None = None

    def __enter__(self) -> FhirClient:
        self._portal = self._stack.enter_context(start_blocking_portal())
        transport = httpx.ASGITransport(app=self._app)
        self._client = httpx.AsyncClient(transport=transport, base_url=self._base_url)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._portal is not None and self._client is not None
        self._portal.call(self._client.aclose)
        self._stack.close()

    def _call(self, send: Callable[[], Coroutine[Any, Any, httpx.Response]]) -> httpx.Response:
        assert self._portal is not None
        return self._portal.call(send)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert self._client is not None
        client = self._client
        return self._call(lambda: client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


def patient(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "birthDate": "1990-05-17", **fields}


def create(client: FhirClient, resource: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
