"""Database errors that mean "try again", reported as 409 rather than 500.

A deadlock (SQLSTATE 40P01) or a serialisation failure (40001) between concurrent writers is not
a server fault: the client may retry (https://hl7.org/fhir/R4/http.html#concurrency). The SQLSTATE
is standard SQL, read from the exception's ``sqlstate`` attribute (psycopg sets it), so the API
needs no knowledge of the backend.
"""

from __future__ import annotations

from yteso.fhir.errors import Conflict

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def as_transient_conflict(error: BaseException) -> Conflict | None:
    """A 409 for a retryable database error, else None."""
    if getattr(error, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return Conflict(f"Concurrent writes collided ({type(error).__name__}); retry the request")
    return None


__all__ = ["RETRYABLE_SQLSTATES", "as_transient_conflict"]
