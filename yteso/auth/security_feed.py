"""The security event feed for a security operations centre: JSON lines, optionally syslog.

One flat JSON object per audited event, appended to ``security-events.jsonl`` (schema in
docs/security.md: ``time, kind, action, outcome, status, subject, client, address, what,
patient, break_glass``) and, when configured, sent as RFC 5424 syslog over UDP
(https://www.rfc-editor.org/rfc/rfc5424, facility ``authpriv``, MSG = the same JSON).
"""

from __future__ import annotations

import os
import socket
import threading
import weakref
from pathlib import Path

import orjson

from yteso.fhir.types import Json

SYSLOG_AUTHPRIV = 10
SEVERITY_OF_OUTCOME = {"0": 6, "4": 4, "8": 3}  # informational, warning, error
FEED_FILE = "security-events.jsonl"


def feed_record(event: Json) -> Json:
    """The flat feed line of one BALP AuditEvent."""
    agents = event.get("agent", [{}])
    requestor = agents[0] if agents else {}
    entities = event.get("entity", [])
    references = [str(e["what"]["reference"]) for e in entities if "what" in e]
    patient = next(
        (r.removeprefix("Patient/") for r in references if r.startswith("Patient/")), None
    )
    purpose = event.get("purposeOfEvent") or [{}]
    return {
        "time": event.get("recorded"),
        "kind": event.get("type", {}).get("code"),
        "action": (event.get("subtype") or [{}])[0].get("code"),
        "outcome": event.get("outcome"),
        "status": event.get("outcomeDesc", "").removeprefix("HTTP "),
        "subject": requestor.get("who", {}).get("identifier", {}).get("value"),
        "client": agents[1]["who"]["identifier"]["value"] if len(agents) > 1 else None,
        "address": requestor.get("network", {}).get("address"),
        "what": references[0] if references else None,
        "patient": patient,
        "break_glass": purpose[0].get("text"),
    }


def syslog_message(record: Json, hostname: str) -> bytes:
    """An RFC 5424 message: ``<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG``."""
    priority = SYSLOG_AUTHPRIV * 8 + SEVERITY_OF_OUTCOME.get(str(record.get("outcome")), 5)
    header = f"<{priority}>1 {record.get('time') or '-'} {hostname or '-'} yteso {os.getpid()}"
    return f"{header} {record.get('action') or '-'} - ".encode() + orjson.dumps(record)


class SecurityFeed:
    def __init__(self, directory: Path, syslog: tuple[str, int] | None = None) -> None:
        self.path = directory / FEED_FILE
        self.syslog = syslog
        self._lock = threading.Lock()
        self._hostname = socket.gethostname()
        self._fd: int | None = None
        self._closer: weakref.finalize[..., object] | None = None

    def _descriptor(self) -> int:
        """The feed file, kept open between events; reopened when it was moved (rotated)."""
        if self._fd is not None:
            try:
                found, held = os.stat(self.path), os.fstat(self._fd)
                if (found.st_dev, found.st_ino) == (held.st_dev, held.st_ino):
                    return self._fd
            except FileNotFoundError:
                pass
            self.close()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._closer = weakref.finalize(self, os.close, self._fd)  # a feed dropped unclosed
        return self._fd

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
        self._fd, self._closer = None, None

    def emit(self, event: Json) -> None:
        record = feed_record(event)
        line = orjson.dumps(record) + b"\n"
        with self._lock:
            os.write(self._descriptor(), line)  # one O_APPEND write per line
        if self.syslog is not None:
            try:  # one datagram, its own socket: nothing held open between events
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                    sender.sendto(syslog_message(record, self._hostname), self.syslog)
            except OSError:
                pass  # the feed file and the audit log still have it; syslog is best effort


__all__ = ["SecurityFeed", "feed_record", "syslog_message"]
