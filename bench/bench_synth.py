"""Synthetic population speed and memory: resources/s written as NDJSON, against a baseline.

    .venv/bin/python bench/bench_synth.py [--people 50000] [--seed 1] [--memory]

The baseline, measured in the same run, is the bare cost of the output: ``orjson.dumps`` of
pre-built dicts (a sample of the generated resources, parsed back) written to the same kind of
files. The ratio says what share of the baseline speed the generator keeps. Target (issue 5):
at least 50,000 resources/s per core. ``--memory`` also runs the generator in child processes
at two sizes and prints their peak RSS: it must not grow with the population.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from yteso.synth import generate

BASELINE_SAMPLE = 100_000


def baseline_rate(folder: Path, total: int, out: Path) -> float:
    """Resources per CPU second for dumping pre-built dicts to per-type NDJSON files."""
    share = min(1.0, BASELINE_SAMPLE / max(total, 1))
    prebuilt: dict[str, list[dict[str, object]]] = {}
    for path in sorted(folder.glob("*.ndjson")):
        lines = path.read_bytes().splitlines()
        prebuilt[path.stem] = [
            orjson.loads(line) for line in lines[: max(1, int(len(lines) * share))]
        ]
    out.mkdir(parents=True, exist_ok=True)
    count = sum(len(items) for items in prebuilt.values())
    started = time.process_time()
    for name, items in prebuilt.items():
        with (out / f"{name}.ndjson").open("wb", buffering=1 << 20) as handle:
            for item in items:
                handle.write(orjson.dumps(item, option=orjson.OPT_APPEND_NEWLINE))
    return count / (time.process_time() - started)


def peak_rss_mib(people: int, seed: int) -> float:
    """Peak RSS of a child process that generates ``people`` people."""
    # VmHWM, not ru_maxrss: Linux carries the parent's ru_maxrss across fork and exec.
    code = "\n".join(
        [
            "import sys, tempfile",
            "from pathlib import Path",
            "from yteso.synth import generate",
            "with tempfile.TemporaryDirectory() as d:",
            "    generate(int(sys.argv[1]), int(sys.argv[2]), Path(d))",
            "status = Path('/proc/self/status').read_text()",
            "print(next(l.split()[1] for l in status.splitlines() if l.startswith('VmHWM')))",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(people), str(seed)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory", action="store_true", help="peak RSS at two sizes")
    args = parser.parse_args()
    rss: list[tuple[int, float]] = []
    if args.memory:  # first: children forked later would start from this process's RSS
        rss = [(n, peak_rss_mib(n, args.seed)) for n in (max(args.people // 4, 1000), args.people)]
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        started_cpu = time.process_time()
        report = generate(args.people, args.seed, Path(tmp) / "synth")
        cpu = time.process_time() - started_cpu
        size = sum(p.stat().st_size for p in (Path(tmp) / "synth").glob("*.ndjson"))
        base = baseline_rate(Path(tmp) / "synth", report.resources, Path(tmp) / "baseline")
    per_core = report.resources / cpu
    print(f"people:               {report.people:,} (seed {report.seed})")
    per_person = report.resources / report.people
    print(f"resources:            {report.resources:,} ({per_person:.1f}/person)")
    print(f"output:               {size / 2**20:,.0f} MiB NDJSON")
    print(f"time:                 {report.seconds:.2f} s wall, {cpu:.2f} s CPU")
    print(f"synth:                {per_core:,.0f} resources per CPU second (per core)")
    print(f"synth (wall clock):   {report.resources_per_second:,.0f} resources/s")
    print(f"baseline (dumps):     {base:,.0f} resources per CPU second")
    print(f"ratio synth/baseline: {per_core / base:.3f}")
    for people, mib in rss:
        print(f"peak RSS {people:>9,} people: {mib:,.0f} MiB (child process)")


if __name__ == "__main__":
    main()
