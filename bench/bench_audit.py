"""Audit cost per audited request: the Merkle-chained log with a signed head.

    .venv/bin/python bench/bench_audit.py [--events 2000] [--threads 8] [--before FILE]

Appends BALP AuditEvents (the shape every FHIR interaction writes) to a fresh log, one thread
after another and then from ``--threads`` threads at once (as concurrent requests do), and
prints CPU and wall time per event. Modes, in the same run:

- ``per-batch head``: ``AuditLog(head_interval=0)``, a signed head after every write batch;
- ``group commit``: the server's setting, a signed head at most once a second (+ at close);
- ``before`` (with ``--before FILE``, e.g. ``git show <rev>:yteso/auth/audit_log.py > FILE``):
  the implementation of that file, for a before/after figure.

Ratios are to the first mode measured (``before`` when given). CPU time is the process's
(every thread), so a loaded machine changes it little.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from yteso.auth import AuditLog, KeyRing, audit_event


def _event(i: int) -> dict[str, Any]:
    return audit_event(
        interaction="read",
        subject=f"practitioner-{i % 50}",
        client_id="emr",
        network_address="10.0.0.7",
        status=200,
        what=f"Patient/p{i}",
        patient=f"p{i}",
    )


def _run(make: Any, events: int, threads: int) -> tuple[float, float, float, float]:
    """(sequential CPU, sequential wall, concurrent CPU, concurrent wall), ms per event."""
    results = []
    for workers in (1, threads):
        with tempfile.TemporaryDirectory() as folder:
            log = make(Path(folder))
            per = events // workers
            batches = [[_event(w * per + i) for i in range(per)] for w in range(workers)]

            def work(batch: list[dict[str, Any]], log: Any = log) -> None:
                for event in batch:
                    log.append(event)

            pool = [threading.Thread(target=work, args=(b,)) for b in batches]
            cpu, wall = time.process_time(), time.perf_counter()
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join()
            if hasattr(log, "close"):
                log.close()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            assert log.verify().ok
            results += [cpu * 1000 / (per * workers), wall * 1000 / (per * workers)]
    return results[0], results[1], results[2], results[3]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--before", type=Path)
    args = parser.parse_args()
    modes: list[tuple[str, Any]] = []
    if args.before:
        spec = importlib.util.spec_from_file_location("audit_log_before", args.before)
        assert spec is not None and spec.loader is not None
        before = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = before  # dataclasses look their module up
        spec.loader.exec_module(before)
        modes.append(("before", lambda d: before.AuditLog(d, KeyRing(d))))
    modes.append(("per-batch head", lambda d: AuditLog(d, KeyRing(d), head_interval=0)))
    modes.append(("group commit", lambda d: AuditLog(d, KeyRing(d), head_interval=1.0)))
    print(f"{args.events} events; ms per event (ratio to {modes[0][0]})")
    print("| mode | 1 thread CPU | 1 thread wall | " + f"{args.threads} threads CPU | wall |")
    print("|---|---|---|---|---|")
    baseline: tuple[float, ...] | None = None
    for name, make in modes:
        figures = _run(make, args.events, args.threads)
        baseline = baseline or figures
        cells = [f"{f:.3f} ({b / f:.1f}x)" for f, b in zip(figures, baseline, strict=True)]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
