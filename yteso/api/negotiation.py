"""Content negotiation: JSON only, chosen by ``_format`` or ``Accept``; body media types.

https://hl7.org/fhir/R4/http.html#mime-type — this server speaks ``application/fhir+json``;
XML (or anything that is not JSON) requested → 406, sent → 415.
"""

from __future__ import annotations

from yteso.fhir.errors import FhirError, UnsupportedMediaType

FHIR_JSON_UTF8 = "application/fhir+json; charset=utf-8"
JSON_PATCH = "application/json-patch+json"
FORM = "application/x-www-form-urlencoded"
JSON_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})
_FORMAT_JSON = frozenset(
    {"json", "application/json", "application/fhir+json", "application/json+fhir"}
)
_ACCEPT_ANY = frozenset({"*/*", "application/*"})


class NotAcceptable(FhirError):
    """The client asked for a representation this server does not produce (HTTP 406)."""

    status = 406
    code = "not-supported"


def media_type(header: str | None) -> str:
    """``application/fhir+json; charset=utf-8`` → ``application/fhir+json``."""
    if not header:
        return ""
    return header.split(";", 1)[0].strip().lower()


def check_response_format(accept: str | None, format_param: str | None) -> None:
    """Raise 406 unless the client accepts JSON (``_format`` overrides ``Accept``)."""
    if format_param is not None:
        if format_param.strip().lower() not in _FORMAT_JSON:
            raise NotAcceptable(f"_format={format_param!r}: this server only produces JSON")
        return
    if not accept:
        return
    ranges = {media_type(part) for part in accept.split(",")}
    if ranges & (JSON_TYPES | _ACCEPT_ANY) or "" in ranges:
        return
    raise NotAcceptable(f"Accept: {accept!r}: this server only produces application/fhir+json")


def check_body_type(content_type: str, allowed: frozenset[str]) -> None:
    """Raise 415 when a body's declared media type is not one the interaction reads."""
    if content_type and content_type not in allowed:
        expected = ", ".join(sorted(allowed))
        raise UnsupportedMediaType(
            f"Content-Type {content_type!r} is not supported; use {expected}"
        )


__all__ = [
    "FHIR_JSON_UTF8",
    "FORM",
    "JSON_PATCH",
    "JSON_TYPES",
    "NotAcceptable",
    "check_body_type",
    "check_response_format",
    "media_type",
]
