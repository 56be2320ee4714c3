"""NDJSON output: one file per resource type, written as the resources stream by."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import orjson

from yteso.fhir.types import Json

BUFFER_BYTES = 1 << 20


class NdjsonWriter:
    """Appends each resource to ``<out_dir>/<resourceType>.ndjson`` and counts them."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.counts: dict[str, int] = {}
        self._files: dict[str, BinaryIO] = {}
        out_dir.mkdir(parents=True, exist_ok=True)

    def write(self, resource: Json) -> None:
        resource_type: str = resource["resourceType"]
        handle = self._files.get(resource_type)
        if handle is None:
            path = self.out_dir / f"{resource_type}.ndjson"
            handle = self._files[resource_type] = path.open("wb", buffering=BUFFER_BYTES)
            self.counts[resource_type] = 0
        handle.write(orjson.dumps(resource, option=orjson.OPT_APPEND_NEWLINE))
        self.counts[resource_type] += 1

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def __enter__(self) -> NdjsonWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
