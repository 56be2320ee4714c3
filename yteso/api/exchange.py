"""The request and response of one FHIR interaction, independent of HTTP.

https://hl7.org/fhir/R4/http.html — the same :class:`FhirRequest` is built from an HTTP request
or from a Bundle entry's ``request`` (https://hl7.org/fhir/R4/bundle.html#transaction), so batch
and transaction entries run through exactly the same interaction code as single requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yteso.fhir.types import Json
from yteso.store.base import Store, StoredVersion, StoreSession

if TYPE_CHECKING:
    from yteso.api.access import RequestGuard
    from yteso.api.operations import Operation

SearchParamsOf = Callable[[str | None], frozenset[str]]


@dataclass(frozen=True)
class FhirRequest:
    """One interaction: method, target (type/id/version/operation), parameters, body."""

    method: str
    resource_type: str | None = None
    id: str | None = None
    version: str | None = None
    operation: str | None = None  # "$validate", "_history", "_search", "metadata"
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None  # parsed JSON (a resource, a JSON Patch list) or None
    content_type: str = ""  # media type without parameters
    accept: str | None = None
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None
    if_none_exist: str | None = None
    prefer_return: str | None = None  # minimal | representation | OperationOutcome
    prefer_strict: bool = False  # Prefer: handling=strict
    prefer_lenient: bool = False  # Prefer: handling=lenient (said explicitly)
    prefer_async: bool = False  # Prefer: respond-async (Bulk Data kick-off)
    assigned_id: str | None = None  # id chosen in advance by a transaction for a POST entry

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None


@dataclass
class FhirResponse:
    """What an interaction produced; ``raw`` is the stored bytes served as-is (fast path)."""

    status: int
    resource: Json | None = None
    raw: bytes | None = None
    stored: StoredVersion | None = None  # gives ETag, Last-Modified and Location
    location: str | None = None
    outcome: Json | None = None  # OperationOutcome for Prefer: return=OperationOutcome
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None  # a file streamed as the body (bulk export output), never loaded
    # the stored versions a search or history Bundle carries (matches and includes): the audit
    # names the patients whose data went out, not only those the request named
    returned: tuple[StoredVersion, ...] = ()


@dataclass(frozen=True)
class ApiSettings:
    """What the app was built with: known resource types, operations, the store's search."""

    resource_types: frozenset[str]
    operations: Mapping[str, Operation]  # "$validate" -> its declaration
    search_params: SearchParamsOf  # the parameters the store evaluates, per resource type


@dataclass
class ApiContext:
    """What interactions need: the store, the open session (inside a transaction), the base."""

    store: Store
    settings: ApiSettings
    base_url: str  # absolute, without trailing slash: http://host:port/fhir
    session: StoreSession | None = None
    guard: RequestGuard | None = None  # None only for apps built with OPEN_ACCESS_FOR_TESTS

    @property
    def resource_types(self) -> frozenset[str]:
        return self.settings.resource_types

    def supported_params(self, resource_type: str | None) -> frozenset[str]:
        return self.settings.search_params(resource_type)

    @contextmanager
    def writing(self) -> Iterator[StoreSession]:
        """The transaction's session when inside one, else a new atomic session."""
        if self.session is not None:
            yield self.session
            return
        with self.store.session() as session:
            yield session

    def read(self, resource_type: str, id: str) -> StoredVersion:
        if self.session is not None:
            return self.session.read(resource_type, id)
        return self.store.read(resource_type, id)

    def in_session(self, session: StoreSession) -> ApiContext:
        return ApiContext(self.store, self.settings, self.base_url, session, self.guard)


__all__ = ["ApiContext", "ApiSettings", "FhirRequest", "FhirResponse", "SearchParamsOf"]
