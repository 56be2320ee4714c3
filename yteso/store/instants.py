"""FHIR ``instant`` values as the store writes them: UTC, millisecond precision, ``Z`` suffix.

https://hl7.org/fhir/R4/datatypes.html#instant
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


def now_utc() -> datetime:
    """The current time truncated to milliseconds (the precision ``meta.lastUpdated`` keeps)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@lru_cache(maxsize=4096)  # bulk writes format the same few instants thousands of times
def format_instant(moment: datetime) -> str:
    """``2026-11-25T23:58:20.123Z``: fixed width, so text order is time order (SQLite column)."""
    utc = moment.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_instant(text: str) -> datetime:
    """Inverse of :func:`format_instant` (also accepts any ISO 8601 instant with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
