"""Benchmark 1 with a timeline: ``bench_load.py``'s run, printing when each load's phases end.

    .venv/bin/python bench/bench_load_timeline.py [--resources 100000] [--db both]

Runs ``bench/bench_load.py`` of the current directory's checkout (so the same command measures
any branch) and prints, per load, the seconds spent streaming (workers and the writer), in the
deferred index build and in the statistics refresh, from timestamps taken around those steps.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path.cwd() / "bench"))

import bench_load

from yteso.store import bulk_load
from yteso.store.sql_store import SqlStore

marks: list[tuple[str, float]] = []


def _mark(label: str) -> None:
    marks.append((label, time.perf_counter()))
    if label == "statistics end":
        if any(name == "stream end" for name, _ in marks):
            _report()
        marks.clear()  # a refresh outside a load (at open)


def _report() -> None:
    at = dict(marks)
    stream = at["stream end"] - at["stream start"]
    build = at.get("build end", at["stream end"]) - at.get("build start", at["stream end"])
    statistics = at["statistics end"] - at["statistics start"]
    total = at["statistics end"] - at["stream start"]
    print(
        f"timeline: stream {stream:.2f} s, index build {build:.2f} s,"
        f" statistics {statistics:.2f} s (stream start to statistics end {total:.2f} s)",
        flush=True,
    )


def _timed_stream(real: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def stream(*args: Any) -> Iterator[Any]:
        _mark("stream start")
        yield from real(*args)
        _mark("stream end")

    return stream


def _timed(real: Callable[..., Any], label: str) -> Callable[..., Any]:
    def step(*args: Any, **kwargs: Any) -> Any:
        _mark(f"{label} start")
        try:
            return real(*args, **kwargs)
        finally:
            _mark(f"{label} end")

    return step


if __name__ == "__main__":
    bulk_load._prepared_stream = _timed_stream(bulk_load._prepared_stream)
    bulk_load.rebuild_deferred_indexes = _timed(bulk_load.rebuild_deferred_indexes, "build")
    SqlStore.refresh_statistics = _timed(SqlStore.refresh_statistics, "statistics")
    bench_load.main()
