"""Versioning headers: ETag, Last-Modified, If-Match, If-None-Match, If-Modified-Since, Prefer.

https://hl7.org/fhir/R4/http.html#versioning and https://hl7.org/fhir/R4/http.html#concurrency
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

from yteso.fhir.errors import Invalid
from yteso.store.base import StoredVersion


def etag(version: int) -> str:
    return f'W/"{version}"'


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


@lru_cache(maxsize=256)
def instant(moment: datetime) -> str:
    """A FHIR instant in UTC with millisecond precision (cached: a transaction's entries share
    one moment)."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def version_headers(stored: StoredVersion) -> dict[str, str]:
    return {"ETag": etag(stored.version), "Last-Modified": http_date(stored.last_updated)}


def parse_version_tag(value: str, header: str = "If-Match") -> int:
    """``W/"3"``, ``"3"`` or ``3`` → 3; anything else is the client's error."""
    text = value.strip()
    if text.startswith(("W/", "w/")):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit() or len(text) > 18:
        raise Invalid(f'{header}: {value!r} is not a version tag such as W/"3"')
    return int(text)


def not_modified(
    stored: StoredVersion, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """Whether a conditional read may answer 304 (https://hl7.org/fhir/R4/http.html#cread)."""
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        if "*" in tags:
            return True
        try:
            return any(parse_version_tag(tag, "If-None-Match") == stored.version for tag in tags)
        except Invalid:
            return False
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return stored.last_updated.replace(microsecond=0) <= since
    return False


def prefer_handling(value: str | None) -> str | None:
    """``Prefer: respond-async, handling=lenient`` → "lenient" (None when not said)."""
    for part in (value or "").replace(";", ",").split(","):
        key, _, setting = part.strip().partition("=")
        if key.strip() == "handling":
            return setting.strip().strip('"')
    return None


def parse_prefer(value: str | None) -> tuple[str | None, bool]:
    """``Prefer: return=minimal, handling=strict`` → ("minimal", True)."""
    if not value:
        return None, False
    return_pref: str | None = None
    strict = False
    for part in value.replace(";", ",").split(","):
        key, _, setting = part.strip().partition("=")
        setting = setting.strip().strip('"')
        if key.strip() == "return" and setting in ("minimal", "representation", "OperationOutcome"):
            return_pref = setting
        elif key.strip() == "handling":
            strict = setting == "strict"
    return return_pref, strict


__all__ = [
    "etag",
    "http_date",
    "instant",
    "not_modified",
    "parse_prefer",
    "parse_version_tag",
    "prefer_handling",
    "version_headers",
]
