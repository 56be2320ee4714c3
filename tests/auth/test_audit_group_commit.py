"""The audit log's group commit: concurrent appends, two writers on one log (as two server
processes), heads signed per interval, and a log cut while the server was stopped."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

import orjson

from tests.auth.test_scopes_and_audit import _event
from yteso.auth import AuditLog, KeyRing


def _append_concurrently(logs: list[AuditLog], per_thread: int, threads: int) -> list[int]:
    seqs: list[int] = []
    lock = threading.Lock()

    def work(log: AuditLog, base: int) -> None:
        for i in range(per_thread):
            seq = log.append(_event(base + i))
            with lock:
                seqs.append(seq)

    workers = [
        threading.Thread(target=work, args=(logs[n % len(logs)], n * per_thread))
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return seqs


def test_concurrent_appends_get_every_sequence_once_and_verify(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, KeyRing(tmp_path))
    seqs = _append_concurrently([log], per_thread=40, threads=6)
    assert sorted(seqs) == list(range(240))
    report = log.verify()
    assert report.ok and report.records == 240 and report.unsigned == 0
    subjects = {e["agent"][0]["who"]["identifier"]["value"] for e in log.events()}
    assert len(subjects) == 240  # none lost, none doubled


def test_two_writers_on_one_log_continue_each_others_tree(tmp_path: Path) -> None:
    keys = KeyRing(tmp_path)
    first, second = AuditLog(tmp_path, keys), AuditLog(tmp_path, KeyRing(tmp_path))
    seqs = _append_concurrently([first, second], per_thread=25, threads=4)
    assert sorted(seqs) == list(range(100))
    assert first.verify().ok and AuditLog(tmp_path, keys).verify().ok


def test_heads_are_signed_per_interval_and_at_close(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, KeyRing(tmp_path), head_interval=60)
    for i in range(5):
        log.append(_event(i))
    report = log.verify()
    assert report.ok and report.unsigned == 5  # chained, not yet under a signature
    log.close()
    assert log.verify().unsigned == 0
    quick = AuditLog(tmp_path, KeyRing(tmp_path), head_interval=0.05)
    quick.append(_event(9))
    finished = threading.Event()
    for _ in range(100):
        if quick.verify().unsigned == 0:
            finished.set()
            break
        finished.wait(0.05)
    assert finished.is_set() and quick.verify().records == 6


def test_a_log_cut_while_stopped_is_never_signed_over(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, KeyRing(tmp_path), head_interval=60)
    for i in range(6):
        log.append(_event(i))
    log.close()
    lines = log.path.read_bytes().splitlines()
    log.path.write_bytes(b"\n".join(lines[:-2]) + b"\n")  # the last two records removed
    restarted = AuditLog(tmp_path, KeyRing(tmp_path), head_interval=60)
    assert restarted.tampered is not None and "removed" in restarted.tampered
    restarted.append(_event(7))  # still recorded, never lost ...
    restarted.close()
    report = restarted.verify()  # ... but the new head does not cover up the cut
    assert not report.ok and report.records == 5
    assert orjson.loads(restarted.path.read_bytes().splitlines()[-1])["seq"] == 4


def test_a_torn_last_line_is_kept_reported_and_not_in_the_way(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, KeyRing(tmp_path))
    for i in range(3):
        log.append(_event(i))
    with log.path.open("ab") as handle:  # a crash in the middle of a write
        handle.write(b'{"seq": 3, "event": {"resourceType": "Audi')
    restarted = AuditLog(tmp_path, KeyRing(tmp_path))
    assert restarted.append(_event(4)) == 3  # the fragment is no record
    report = restarted.verify()
    assert report.records == 4 and report.problems == (
        "line 4: not a readable record (torn or edited)",
    )
    assert b'"resourceType": "Audi\n' in restarted.path.read_bytes()  # kept as evidence


def test_the_log_stays_open_between_batches_and_is_closed_once_dropped(tmp_path: Path) -> None:
    keys = KeyRing(tmp_path)
    before = len(os.listdir("/proc/self/fd"))
    for n in range(30):
        log = AuditLog(tmp_path / str(n), keys)
        log.append(_event(n))
        log.append(_event(n + 1))
        if n % 2:
            log.close()
        del log
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= before + 1
    log = AuditLog(tmp_path / "moved", keys)
    log.append(_event(1))
    log.path.rename(log.path.with_suffix(".old"))  # an operator starts a new log
    log.head_path.unlink()
    log.append(_event(2))
    report = log.verify()
    assert report.ok and report.records == 1
