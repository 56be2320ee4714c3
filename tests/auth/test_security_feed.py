"""The security feed: flat JSON lines and RFC 5424 syslog datagrams."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import orjson

from tests.api.secured_app import CHEAP_ARGON2
from yteso.auth import SecurityServices, audit_event, syslog_message

RFC5424 = re.compile(rb"<(\d{1,3})>1 \S+ \S+ yteso \d+ \S+ - \{.*\}")


def _denial() -> dict[str, object]:
    return audit_event(
        interaction="read",
        subject="citizen-1",
        client_id="phr-app",
        network_address="10.0.0.7",
        status=404,
        what="Patient/p2",
        patient="p1",
    )


def test_feed_line_schema_and_syslog_datagram(tmp_path: Path) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    target = receiver.getsockname()
    security = SecurityServices.open(tmp_path, password_hasher=CHEAP_ARGON2, syslog=target)
    security.record(_denial())
    line = orjson.loads(security.feed.path.read_bytes().splitlines()[0])
    assert set(line) == {
        "time", "kind", "action", "outcome", "status", "subject", "client", "address", "what",
        "patient", "break_glass",
    }  # fmt: skip
    assert (line["action"], line["outcome"], line["status"]) == ("read", "4", "404")
    assert (line["subject"], line["client"], line["what"]) == ("citizen-1", "phr-app", "Patient/p2")
    datagram = receiver.recv(65536)
    receiver.close()
    match = RFC5424.fullmatch(datagram)
    assert match is not None and int(match[1]) == 10 * 8 + 4  # authpriv.warning
    assert security.audit.verify().ok


def test_syslog_severity_follows_the_outcome() -> None:
    record = {"outcome": "0", "time": "2026-01-01T00:00:00Z", "action": "read"}
    assert syslog_message(record, "host").startswith(b"<86>1 2026-01-01T00:00:00Z host yteso ")


def test_a_rotated_feed_file_is_reopened(tmp_path: Path) -> None:
    feed = SecurityServices.open(tmp_path, password_hasher=CHEAP_ARGON2).feed
    feed.emit(_denial())
    feed.path.rename(feed.path.with_suffix(".1"))  # logrotate moves it away
    feed.emit(_denial())
    feed.emit(_denial())
    feed.close()
    assert len(feed.path.with_suffix(".1").read_bytes().splitlines()) == 1
    lines = feed.path.read_bytes().splitlines()
    assert [orjson.loads(line)["status"] for line in lines] == ["404", "404"]
