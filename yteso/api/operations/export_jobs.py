"""Bulk export jobs: one folder and one background thread per job, state kept on disk.

https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request — the job folder
``<exports>/<job>/`` holds ``job.json`` (owner, request, status, manifest parts) and the NDJSON
files, so a restarted server still answers the status URL (a job that was running when the
process stopped is reported as failed rather than left in progress forever).
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from yteso.fhir.types import Json
from yteso.store.base import Store
from yteso.store.ndjson_export import Accept, Cancelled, ExportPlan, planned_versions, write_ndjson

JOB_FILE = "job.json"
ERROR_FILE = "OperationOutcome.errors.ndjson"  # the manifest's ``error`` file
JOB_ID_BYTES = 16


@dataclass(frozen=True)
class ExportRequest:
    """One kick-off: who asked, the request URL, what to export and what to drop."""

    owner: str
    request_url: str
    plan: ExportPlan
    accept: Accept | None = None
    outcomes: tuple[Json, ...] = ()  # OperationOutcomes for the manifest's ``error`` file


def _state_path(folder: Path) -> Path:
    return folder / JOB_FILE


def _save(folder: Path, state: dict[str, Any]) -> None:
    temporary = folder / (JOB_FILE + ".tmp")
    temporary.write_bytes(orjson.dumps(state))
    os.replace(temporary, _state_path(folder))


class ExportJobs:
    """The jobs of one server under ``root`` (``$YTESO_HOME/exports``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._running: dict[str, threading.Event] = {}
        self._cancelled: set[str] = set()  # gone for callers at once, while the thread stops
        self._lock = threading.Lock()

    def folder(self, job: str) -> Path | None:
        if not job.isalnum() or len(job) != JOB_ID_BYTES * 2:
            return None
        folder = self.root / job
        return folder if _state_path(folder).is_file() else None

    def start(self, store: Store, request: ExportRequest) -> str:
        job = secrets.token_hex(JOB_ID_BYTES)
        folder = self.root / job
        folder.mkdir(parents=True)
        state: dict[str, Any] = {
            "status": "in-progress",
            "owner": request.owner,
            "request": request.request_url,
            "transactionTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "progress": 0,
        }
        _save(folder, state)
        cancelled = threading.Event()
        with self._lock:
            self._running[job] = cancelled
        thread = threading.Thread(
            target=self._run, args=(store, request, folder, state, cancelled), daemon=True
        )
        thread.start()
        return job

    def _run(
        self,
        store: Store,
        request: ExportRequest,
        folder: Path,
        state: dict[str, Any],
        cancelled: threading.Event,
    ) -> None:
        job = folder.name

        def progress(count: int) -> None:
            _save(folder, {**state, "progress": count})

        try:
            errors = _write_outcomes(folder, request.outcomes)
            versions = planned_versions(store, request.plan)
            counts = write_ndjson(
                versions, folder, accept=request.accept, cancelled=cancelled, progress=progress
            )
            _save(folder, {**state, "status": "completed", "counts": counts, "errors": errors})
        except Cancelled:
            shutil.rmtree(folder, ignore_errors=True)
        except Exception as error:  # the job fails; the server goes on
            _save(folder, {**state, "status": "error", "message": str(error)})
        finally:
            with self._lock:
                self._running.pop(job, None)

    def state(self, job: str) -> dict[str, Any] | None:
        folder = self.folder(job)
        if folder is None:
            return None
        with self._lock:  # before the read: a job that ends in between has saved its state
            alive = job in self._running
            if job in self._cancelled:
                return None
        state: dict[str, Any] = orjson.loads(_state_path(folder).read_bytes())
        if state["status"] == "in-progress" and not alive:
            state = {**state, "status": "error", "message": "interrupted by a server restart"}
        return state

    def cancel(self, job: str) -> bool:
        """Stop a running job (its thread removes the folder) or remove a finished one."""
        with self._lock:
            event = self._running.get(job)
        if event is not None:
            with self._lock:
                self._cancelled.add(job)
            event.set()
            return True
        folder = self.folder(job)
        if folder is None:
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True

    def wait(self, job: str, timeout: float = 30.0) -> None:
        """Block until ``job`` is no longer running (tests, the CLI)."""
        deadline = datetime.now(UTC).timestamp() + timeout
        while datetime.now(UTC).timestamp() < deadline:
            with self._lock:
                if job not in self._running:
                    return
            threading.Event().wait(0.01)


def _write_outcomes(folder: Path, outcomes: tuple[Json, ...]) -> int:
    """Write the OperationOutcomes to :data:`ERROR_FILE` (none: no file); their count."""
    if outcomes:
        (folder / ERROR_FILE).write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in outcomes))
    return len(outcomes)


__all__ = ["ERROR_FILE", "ExportJobs", "ExportRequest"]
