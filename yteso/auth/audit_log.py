"""The append-only audit trail: AuditEvents (IHE BALP shape) in a Merkle-hashed JSON-lines log.

https://profiles.ihe.net/ITI/BALP/ and https://www.rfc-editor.org/rfc/rfc6962#section-2.1 —
each line holds ``seq``, the AuditEvent, its leaf hash and the tree root after it; a tree head
(size, root) signed with the server's key says how far the log is vouched for.
:meth:`AuditLog.verify` recomputes everything and reports the first line that was edited,
removed, inserted or reordered, and a log cut short behind the signed head.

Cost (group commit): appends that arrive while one is being written are written together by
the next writer, in one ``write`` (so a process crash loses nothing that was acknowledged), and
hashing is all they cost. The ES384 head signature (~1-3 ms), the expensive part, is made per
batch when ``head_interval`` is 0, else at most once per ``head_interval`` seconds by a timer
(plus at :meth:`close` and at the next open), with an ``fsync`` of the log. The records of the
last interval are chained but not yet under a signature: that is the window in which a cut at
the end would go unnoticed (as a Certificate Transparency log's merge delay).

Several processes may share one log: an exclusive ``flock`` covers each batch, and a writer
first reads the records other processes appended so its tree continues theirs. The log stays
open between batches (:meth:`AuditLog.close` closes it).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
from joserfc import jws

from yteso.auth.keys import SIGNING_ALGORITHM, KeyRing
from yteso.auth.merkle import MerkleAccumulator, leaf_hash
from yteso.fhir.types import Json

logger = logging.getLogger(__name__)

LOG_FILE = "audit.jsonl"
HEAD_FILE = "audit-head.jws"


def canonical(event: Json) -> bytes:
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class VerifyReport:
    records: int
    problems: tuple[str, ...]
    unsigned: int = 0  # records after the signed head (chained, not yet signed)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Pending:
    __slots__ = ("error", "event", "seq")

    def __init__(self, event: Json) -> None:
        self.event = event
        self.seq: int | None = None
        self.error: BaseException | None = None


class AuditLog:
    """Appends AuditEvents with group commit; ``head_interval`` seconds between signed heads
    (0: a signed head after every batch)."""

    def __init__(self, directory: Path, keys: KeyRing, head_interval: float = 0.0) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / LOG_FILE
        self.head_path = directory / HEAD_FILE
        self.keys = keys
        self.head_interval = head_interval
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._write_lock = threading.Lock()  # one batch writer at a time in this process
        self._tree = MerkleAccumulator()
        self._offset = 0  # bytes of the log already folded into the tree
        self._signed_size = -1
        self._timer: threading.Timer | None = None
        self._fd: int | None = None
        self._closer: weakref.finalize[..., object] | None = None
        # Set when the log on disk does not extend the signed head (edited or cut while the
        # server was stopped): no head is signed any more, so the evidence stays for verify.
        self.tampered: str | None = None
        with self._write_lock, self._exclusive() as fd:
            self._catch_up(fd)
            self.tampered = self._head_mismatch()
            self._sign_head(fd)  # a tail left unsigned by a stop or a crash is signed now

    def _head_mismatch(self) -> str | None:
        if not self.head_path.exists():
            return None
        report = self.verify()
        return None if report.ok else report.problems[0]

    @contextmanager
    def _exclusive(self) -> Iterator[int]:
        """The log open for appending, under an exclusive lock across processes. The
        descriptor stays open between batches (an open and a close per request cost more than
        the write); a log moved aside (a new one started) is reopened."""
        fd = self._fd
        if fd is not None and not _same_file(fd, self.path):
            self._close_fd()
            fd = None
        if fd is None:  # (re)opened: fold the file in from its start
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            self._tree, self._offset, self._signed_size = MerkleAccumulator(), 0, -1
            self._fd = fd
            self._closer = weakref.finalize(self, os.close, fd)  # a log dropped unclosed
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _catch_up(self, fd: int) -> None:
        """Fold in the complete lines other processes appended since we last looked."""
        size = os.fstat(fd).st_size
        if size <= self._offset:
            return
        tail = os.pread(fd, size - self._offset, self._offset)
        end = tail.rfind(b"\n") + 1  # a torn last line (a crash mid-write) waits
        for line in tail[:end].splitlines():
            record = _parsed(line)
            if record is not None:  # a torn line is no record (verify reports it)
                self._tree.append(bytes.fromhex(str(record.get("leaf", ""))))
        self._offset += end

    def append(self, event: Json) -> int:
        """Append one AuditEvent (written before this returns); returns its sequence number."""
        pending = _Pending(event)
        with self._queue_lock:
            self._queue.append(pending)
        with self._write_lock:
            if pending.seq is None and pending.error is None:  # not in an earlier batch
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    self._write(batch)
                except BaseException as error:
                    for waiting in batch:
                        waiting.error = error
        if pending.error is not None:
            raise pending.error
        assert pending.seq is not None
        return pending.seq

    def _write(self, batch: list[_Pending]) -> None:
        with self._exclusive() as fd:
            self._catch_up(fd)
            if os.fstat(fd).st_size > self._offset:  # a torn line left by a crash: end it,
                os.write(fd, b"\n")  # so that it stays a (reported) line of its own
                self._offset = os.fstat(fd).st_size
            lines = []
            for pending in batch:
                seq = self._tree.size
                leaf = leaf_hash(canonical(pending.event))
                self._tree.append(leaf)
                record = {
                    "seq": seq,
                    "event": pending.event,
                    "leaf": leaf.hex(),
                    "root": self._tree.root().hex(),
                }
                lines.append(orjson.dumps(record) + b"\n")
            data = b"".join(lines)
            os.write(fd, data)
            self._offset += len(data)
            for position, pending in enumerate(batch):
                pending.seq = self._tree.size - len(batch) + position
            if self.head_interval <= 0:
                self._sign_head(fd)
        if self.head_interval > 0:
            self._schedule_head()

    def _schedule_head(self) -> None:
        with self._queue_lock:
            if self._timer is not None:
                return
            self._timer = threading.Timer(self.head_interval, self._timed_head)
            self._timer.daemon = True
            self._timer.start()

    def _timed_head(self) -> None:
        with self._queue_lock:
            self._timer = None
        try:
            self.sign_head()
        except OSError as error:  # the folder went away (a test's temporary home, a full disk)
            logger.warning("audit head not signed: %s", error)

    def sign_head(self) -> None:
        """Sign the head over every record written so far (and ``fsync`` the log)."""
        with self._write_lock, self._exclusive() as fd:
            self._catch_up(fd)
            self._sign_head(fd)

    def close(self) -> None:
        with self._queue_lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.sign_head()
        with self._write_lock:
            self._close_fd()

    def _close_fd(self) -> None:
        if self._closer is not None:
            self._closer()  # closes the descriptor once
        self._fd, self._closer = None, None

    def _sign_head(self, fd: int) -> None:
        if self._tree.size == self._signed_size or self.tampered is not None:
            return
        os.fsync(fd)  # the records a head vouches for are on disk before the head
        key = self.keys.current
        header = {"alg": SIGNING_ALGORITHM, "kid": key.kid}
        payload = orjson.dumps({"size": self._tree.size, "root": self._tree.root().hex()})
        head = jws.serialize_compact(header, payload, key, algorithms=[SIGNING_ALGORITHM])
        temporary = self.head_path.with_suffix(".tmp")
        temporary.write_text(head)
        temporary.replace(self.head_path)
        self._signed_size = self._tree.size

    def _lines(self) -> list[Json | None]:
        """Each non-empty line of the log, parsed (None: not a readable record)."""
        if not self.path.exists():
            return []
        return [_parsed(line) for line in self.path.read_bytes().splitlines() if line.strip()]

    def _records(self) -> list[Json]:
        return [record for record in self._lines() if record is not None]

    def events(self) -> list[Json]:
        return [record["event"] for record in self._records()]

    def verify(self) -> VerifyReport:
        """Recompute every leaf and root; the signed head must match the root at its size."""
        problems: list[str] = []
        tree = MerkleAccumulator()
        roots = [tree.root().hex()]  # roots[n]: the root over the first n records
        records: list[Json] = []
        for number, record in enumerate(self._lines(), start=1):
            if record is None:
                problems.append(f"line {number}: not a readable record (torn or edited)")
                continue
            problems.extend(_check_record(len(records), record, tree))
            records.append(record)
            roots.append(tree.root().hex())
        head_problems, signed = self._check_head(roots)
        problems.extend(head_problems)
        return VerifyReport(len(records), tuple(problems), max(0, len(records) - signed))

    def _check_head(self, roots: list[str]) -> tuple[list[str], int]:
        size = len(roots) - 1
        if not self.head_path.exists():
            return ([] if size == 0 else ["the signed tree head is missing"]), 0
        try:
            head = jws.deserialize_compact(
                self.head_path.read_text(), self.keys.verification_set(), algorithms=["ES384"]
            )
        except Exception as error:  # any JOSE failure means the head cannot be trusted
            return [f"the signed tree head does not verify: {error}"], 0
        signed = orjson.loads(head.payload)
        signed_size = int(signed["size"])
        if signed_size > size:
            return [
                f"the log has {size} records but the signed head covers {signed_size}: "
                "records were removed at the end"
            ], signed_size
        if signed["root"] != roots[signed_size]:
            return [
                f"the first {signed_size} records do not have the signed root: records were "
                "changed, removed or added"
            ], signed_size
        return [], signed_size


def _same_file(fd: int, path: Path) -> bool:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (found.st_dev, found.st_ino) == (held.st_dev, held.st_ino)


def _parsed(line: bytes) -> Json | None:
    if not line.strip():
        return None
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


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
