"""The append-only audit trail: AuditEvents (IHE BALP shape) in a Merkle-hashed JSON-lines log.

https://profiles.ihe.net/ITI/BALP/ and https://www.rfc-editor.org/rfc/rfc6962#section-2.1 —
each line holds ``seq``, the AuditEvent, its leaf hash and the tree root after it; a signed tree
head (JWS by the server's signing key) is rewritten after each append. :meth:`AuditLog.verify`
recomputes everything and reports the first line that was edited, removed, inserted or
reordered, and a log cut short behind the signed head.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import orjson
from joserfc import jws

from yteso.auth.keys import SIGNING_ALGORITHM, KeyRing
from yteso.auth.merkle import MerkleAccumulator, leaf_hash
from yteso.fhir.types import Json

LOG_FILE = "audit.jsonl"
HEAD_FILE = "audit-head.jws"


def canonical(event: Json) -> bytes:
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class VerifyReport:
    records: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    """Appends AuditEvents; one writer per process (a lock keeps the sequence and tree)."""

    def __init__(self, directory: Path, keys: KeyRing) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / LOG_FILE
        self.head_path = directory / HEAD_FILE
        self.keys = keys
        self._lock = threading.Lock()
        self._tree = MerkleAccumulator()
        for record in self._records():
            self._tree.append(bytes.fromhex(str(record.get("leaf", ""))))

    def _records(self) -> list[Json]:
        if not self.path.exists():
            return []
        lines = self.path.read_bytes().splitlines()
        return [orjson.loads(line) for line in lines if line.strip()]

    def append(self, event: Json) -> int:
        """Append one AuditEvent; returns its sequence number."""
        with self._lock:
            seq = self._tree.size
            leaf = leaf_hash(canonical(event))
            self._tree.append(leaf)
            root = self._tree.root().hex()
            record = {"seq": seq, "event": event, "leaf": leaf.hex(), "root": root}
            with self.path.open("ab") as handle:
                handle.write(orjson.dumps(record) + b"\n")
            self._sign_head(seq + 1, root)
            return seq

    def _sign_head(self, size: int, root: str) -> None:
        key = self.keys.current
        header = {"alg": SIGNING_ALGORITHM, "kid": key.kid}
        payload = orjson.dumps({"size": size, "root": root})
        head = jws.serialize_compact(header, payload, key, algorithms=[SIGNING_ALGORITHM])
        self.head_path.write_text(head)

    def events(self) -> list[Json]:
        return [record["event"] for record in self._records()]

    def verify(self) -> VerifyReport:
        """Recompute every leaf and root; compare with the signed head."""
        problems: list[str] = []
        tree = MerkleAccumulator()
        records = self._records()
        for position, record in enumerate(records):
            problems.extend(_check_record(position, record, tree))
        problems.extend(self._check_head(tree))
        return VerifyReport(len(records), tuple(problems))

    def _check_head(self, tree: MerkleAccumulator) -> list[str]:
        if not self.head_path.exists():
            return [] if tree.size == 0 else ["the signed tree head is missing"]
        try:
            head = jws.deserialize_compact(
                self.head_path.read_text(), self.keys.verification_set(), algorithms=["ES384"]
            )
        except Exception as error:  # any JOSE failure means the head cannot be trusted
            return [f"the signed tree head does not verify: {error}"]
        signed = orjson.loads(head.payload)
        if signed["size"] != tree.size or signed["root"] != tree.root().hex():
            return [
                f"the log has {tree.size} records but the signed head covers {signed['size']} "
                "with another root: records were removed or added at the end"
            ]
        return []


def _check_record(position: int, record: Json, tree: MerkleAccumulator) -> list[str]:
    problems = []
    if record.get("seq") != position:
        problems.append(
            f"line {position + 1}: sequence {record.get('seq')} where {position} was due"
        )
    leaf = leaf_hash(canonical(record.get("event") or {}))
    if leaf.hex() != record.get("leaf"):
        problems.append(f"record {record.get('seq')}: the event was edited (leaf hash differs)")
    tree.append(leaf)
    if tree.root().hex() != record.get("root"):
        problems.append(f"record {record.get('seq')}: the tree root differs (an earlier change)")
    return problems


__all__ = ["AuditLog", "VerifyReport", "canonical"]
