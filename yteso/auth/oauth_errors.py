"""The error answer of the OAuth 2.0 endpoints — https://www.rfc-editor.org/rfc/rfc6749#section-5.2"""

from __future__ import annotations

from yteso.fhir.types import Json


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error: ``error`` code, description and HTTP status. ``subject``
    names who tried when it is known (the user of a code, the client an assertion claims to
    be), for the audit record of the refusal."""

    def __init__(
        self, error: str, description: str, status: int = 400, subject: str | None = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.subject = subject

    def body(self) -> Json:
        return {"error": self.error, "error_description": self.description}


__all__ = ["OAuthError"]
