"""The whole app over a real, seeded store with real auth: what the access tests drive.

Tokens are signed by the app's own keys (``SecurityServices``), so requests take the same path
as in production; only the password hasher is cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from tests.api.fhir_client import FhirClient
from yteso.app import create_app
from yteso.auth import SecurityServices
from yteso.store import open_store
from yteso.store.auth_records import auth_records

# Real argon2id, with costs low enough for tests (production keeps the library's defaults).
CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@contextmanager
def secured_client(
    store_url: str,
    seed: Iterable[dict[str, Any]],
    auth_home: Path,
    *,
    state_in_store: bool = False,
    exports_dir: Path | None = None,
) -> Iterator[tuple[FhirClient, SecurityServices]]:
    """A client of the app over ``store_url`` seeded with copies of ``seed``, and its security
    services (keys and audit trail under ``auth_home``). ``state_in_store``: accounts, codes
    and revocations kept in the store's tables, as production keeps them (else in memory)."""
    store = open_store(store_url)
    store.bulk_write([dict(resource) for resource in seed])
    state = auth_records(store) if state_in_store else None
    security = SecurityServices.open(auth_home, password_hasher=CHEAP_ARGON2, state=state)
    try:
        with FhirClient(create_app(store, security=security, exports_dir=exports_dir)) as client:
            yield client, security
    finally:
        store.close()
