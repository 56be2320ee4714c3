"""SMART scope parsing, RFC 6962 Merkle hashing and audit log tamper detection."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from yteso.auth import (
    AuditLog,
    KeyRing,
    MerkleAccumulator,
    audit_event,
    leaf_hash,
    merkle_root,
    parse_scope,
)
from yteso.fhir.errors import Invalid


@pytest.mark.parametrize(
    ("text", "context", "resource_type", "permissions", "filters"),
    [
        ("patient/Observation.rs", "patient", "Observation", "rs", ()),
        ("user/*.cruds", "user", "*", "cruds", ()),
        ("system/Patient.read", "system", "Patient", "rs", ()),
        ("patient/*.write", "patient", "*", "cud", ()),
        ("user/Encounter.*", "user", "Encounter", "cruds", ()),
        (
            "patient/Observation.rs?category=vital-signs",
            "patient",
            "Observation",
            "rs",
            (("category", "vital-signs"),),
        ),
    ],
)
def test_resource_scopes_parse(
    text: str,
    context: str,
    resource_type: str,
    permissions: str,
    filters: tuple[tuple[str, str], ...],
) -> None:
    scope = parse_scope(text)
    assert scope is not None
    assert (scope.context, scope.resource_type) == (context, resource_type)
    assert scope.permissions == frozenset(permissions)
    assert scope.filters == filters


@pytest.mark.parametrize(
    "text",
    [
        "patient/Observation.sr",
        "patient/Observation.rr",
        "patient/Observation.x",
        "system/lower.rs",
        "user/Patient.",
    ],
)
def test_malformed_resource_scopes_are_refused(text: str) -> None:
    with pytest.raises(Invalid):
        parse_scope(text)


@pytest.mark.parametrize("text", ["openid", "fhirUser", "launch/patient", "offline_access"])
def test_other_scopes_grant_no_resource_access(text: str) -> None:
    assert parse_scope(text) is None


def _naive_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 2.1 written out literally, to compare the accumulator and merkle_root with."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _naive_root(leaves[:k]) + _naive_root(leaves[k:])).digest()


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33])
def test_merkle_root_and_accumulator_agree_with_rfc6962(size: int) -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(size)]
    accumulator = MerkleAccumulator()
    for leaf in leaves:
        accumulator.append(leaf)
    assert merkle_root(leaves) == _naive_root(leaves) == accumulator.root()


def test_leaf_hash_has_the_rfc6962_prefix() -> None:
    assert leaf_hash(b"") == bytes.fromhex(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


def _event(i: int) -> dict[str, object]:
    return audit_event(
        interaction="read",
        subject=f"user-{i}",
        client_id=None,
        network_address="127.0.0.1",
        status=200,
        what=f"Patient/p{i}",
        patient=f"p{i}",
    )


def _log_with(tmp_path: Path, count: int) -> AuditLog:
    log = AuditLog(tmp_path / "auth", KeyRing(tmp_path / "auth"))
    for i in range(count):
        log.append(_event(i))
    return log


def _rewrite(log: AuditLog, change: str) -> None:
    lines = log.path.read_bytes().splitlines()
    if change == "edit":
        record = orjson.loads(lines[3])
        record["event"]["agent"][0]["who"]["identifier"]["value"] = "someone-else"
        lines[3] = orjson.dumps(record)
    elif change == "delete-middle":
        del lines[2]
    elif change == "delete-last":
        del lines[-1]
    elif change == "swap":
        lines[1], lines[2] = lines[2], lines[1]
    log.path.write_bytes(b"\n".join(lines) + b"\n")


def test_intact_log_verifies(tmp_path: Path) -> None:
    report = _log_with(tmp_path, 6).verify()
    assert report.ok and report.records == 6


@pytest.mark.parametrize("change", ["edit", "delete-middle", "delete-last", "swap"])
def test_tampering_is_detected_and_located(tmp_path: Path, change: str) -> None:
    log = _log_with(tmp_path, 6)
    _rewrite(log, change)
    report = log.verify()
    assert not report.ok
    if change == "edit":
        assert report.problems[0].startswith("record 3:")


def test_audit_events_carry_no_token(tmp_path: Path) -> None:
    event = _event(1)
    text = orjson.dumps(event).decode()
    assert event["resourceType"] == "AuditEvent" and "Bearer" not in text and "eyJ" not in text


def test_a_rotation_by_another_process_is_seen_without_restart(tmp_path: Path) -> None:
    server = KeyRing(tmp_path)
    operator = KeyRing(tmp_path)  # e.g. `yteso auth rotate-keys` in another process
    kid = operator.rotate()
    assert server.current.kid == kid
    assert len(server.public_jwks()["keys"]) == 2
