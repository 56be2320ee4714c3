"""Indicators over ~1,000,000 resources on DuckDB: a full compute, then an incremental run after
one more day of data, against the time to materialise the underlying views alone (same run).

    .venv/bin/python bench/bench_indicators.py [--people 41000] [--seed 1] [--repeat 2]

Data (generated once into ``bench/out/indicators/<people>-<seed>/``, git-ignored): the
``yteso.synth`` population is split into ``base/`` (everything except the last simulated day,
stamped ``meta.lastUpdated`` 2026-06-30T00:00Z) and ``day/`` (the records of the last day,
2026-06-30: encounters, observations, conditions, prescriptions, vaccinations, documents and
babies born that day, stamped 2026-07-01T00:00Z), as a Bulk Data export with ``_since`` would
deliver them.

- ``views alone`` (baseline): every view the indicators and checks read, materialised
  (``CREATE TABLE AS`` the compiled view) over ``base/`` in one DuckDB connection;
- ``full compute``: a fresh :class:`IndicatorWarehouse` run over ``base/`` (views, facts,
  aggregates of the 7 indicators, the 18 quality checks);
- ``incremental``: that warehouse run again over ``day/`` (only the touched units and periods);
- ``full recompute``: a fresh warehouse over ``base/`` + ``day/`` (once); its aggregates are
  checked identical to the incremental result before any figure is printed.

Times are the best of ``--repeat`` runs (each warehouse a fresh DuckDB file; each incremental
run starts from a copy of the full state); CPU = process CPU time (all DuckDB threads), the fairer
measure on a shared machine, wall = elapsed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import orjson

from yteso.synth import generate
from yteso.warehouse.duckdb_views import compile_for_duckdb
from yteso.warehouse.indicators import IndicatorWarehouse
from yteso.warehouse.view_definition import read_view

OUT = Path(__file__).parent / "out" / "indicators"
LAST_DAY = "2026-06-30"
BASE_STAMP = "2026-06-30T00:00:00Z"
DAY_STAMP = "2026-07-01T00:00:00Z"
DATE_OF = {
    "Encounter": lambda r: r.get("period", {}).get("start", ""),
    "Observation": lambda r: r.get("effectiveDateTime", ""),
    "Condition": lambda r: r.get("recordedDate", ""),
    "MedicationRequest": lambda r: r.get("authoredOn", ""),
    "Immunization": lambda r: r.get("occurrenceDateTime", ""),
    "DocumentReference": lambda r: r.get("date", ""),
    "Appointment": lambda r: r.get("start", ""),
    "Patient": lambda r: r.get("birthDate", ""),
}


def prepare(people: int, seed: int) -> tuple[Path, Path, Path, dict[str, int]]:
    """(base, day, both) folders, made once; counts of resources per folder."""
    root = OUT / f"{people}-{seed}"
    base, day, both = root / "base", root / "day", root / "both"
    counts_file = root / "counts.json"
    if counts_file.exists():
        return base, day, both, orjson.loads(counts_file.read_bytes())
    raw = root / "raw"
    print(f"generating {people:,} people (seed {seed}) ...", flush=True)
    generate(people, seed, raw)
    for folder in (base, day, both):
        folder.mkdir(parents=True, exist_ok=True)
    counts = {"base": 0, "day": 0}
    for path in sorted(raw.glob("*.ndjson")):
        date_of: Callable[[Any], str] | None = DATE_OF.get(path.stem)
        with (
            path.open("rb") as lines,
            (base / path.name).open("wb") as old,
            (day / path.name).open("wb") as new,
        ):
            for line in lines:
                resource = orjson.loads(line)
                last = date_of is not None and date_of(resource).startswith(LAST_DAY)
                resource.setdefault("meta", {})["lastUpdated"] = DAY_STAMP if last else BASE_STAMP
                (new if last else old).write(orjson.dumps(resource) + b"\n")
                counts["day" if last else "base"] += 1
        for folder in (base, day):
            (both / f"{path.stem}.{folder.name}.ndjson").symlink_to((folder / path.name).resolve())
    shutil.rmtree(raw)
    counts_file.write_bytes(orjson.dumps(counts))
    return base, day, both, counts


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best CPU and best wall seconds over ``repeat`` runs, and the last result."""
    best_cpu = best_wall = float("inf")
    result = None
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        result = action()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_cpu, best_wall, result


def views_alone(source: Path) -> int:
    warehouse = IndicatorWarehouse(read_only=False)
    con = duckdb.connect()
    rows = 0
    try:
        for use in warehouse.views.values():
            plan = compile_for_duckdb(read_view(use.definition), con, source)
            con.execute(f'CREATE OR REPLACE TABLE "v_{use.name}" AS {plan.sql}')
            count = con.execute(f'SELECT count(*) FROM "v_{use.name}"').fetchone()
            rows += int(count[0]) if count else 0
    finally:
        con.close()
        warehouse.close()
    return rows


def aggregates(warehouse: IndicatorWarehouse) -> list[tuple[Any, ...]]:
    rows = warehouse.con.execute("SELECT * FROM ind_aggregates").fetchall()
    return sorted(rows, key=lambda row: [str(v) for v in row])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=41_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    base, day, both, counts = prepare(args.people, args.seed)
    print(f"base: {counts['base']:,} resources; day: {counts['day']:,} resources")
    print(f"load average before: {os.getloadavg()}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-indicators-"))
    try:
        cpu_views, wall_views, rows = timed(lambda: views_alone(base), args.repeat)

        def full_compute() -> IndicatorWarehouse:
            target = scratch / "state.duckdb"
            target.unlink(missing_ok=True)
            warehouse = IndicatorWarehouse(target)
            warehouse.run(base)
            return warehouse

        def full_compute_closed() -> None:
            full_compute().close()

        cpu_full, wall_full, _ = timed(full_compute_closed, args.repeat)
        copy = scratch / "copy.duckdb"
        results = []
        for _ in range(args.repeat):  # each incremental run starts from the same full state
            shutil.copy(scratch / "state.duckdb", copy)
            warehouse = IndicatorWarehouse(copy)
            cpu, wall = time.process_time(), time.perf_counter()
            report = warehouse.run(day)
            results.append((time.process_time() - cpu, time.perf_counter() - wall, report))
            incremental_rows = aggregates(warehouse)
            warehouse.close()
        cpu_inc = min(r[0] for r in results)
        wall_inc = min(r[1] for r in results)
        report = results[-1][2]

        target = scratch / "recompute.duckdb"
        fresh = IndicatorWarehouse(target)
        cpu, wall = time.process_time(), time.perf_counter()
        fresh.run(both)
        cpu_re, wall_re = time.process_time() - cpu, time.perf_counter() - wall
        recomputed = aggregates(fresh)  # outside the timing: 1.2M rows sorted in Python
        fresh.close()
        if recomputed != incremental_rows:
            raise SystemExit("incremental aggregates differ from the full recompute")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")
    print(f"view rows materialised: {rows:,}; aggregate rows: {len(recomputed):,}")
    print(f"incremental run read: {report.changed}; units: {report.units}")
    print("| step | CPU s | wall s | CPU ratio to views alone |")
    print("|---|---|---|---|")
    for name, cpu, wall in (
        ("views alone (baseline)", cpu_views, wall_views),
        ("full compute (base)", cpu_full, wall_full),
        ("incremental (+1 day)", cpu_inc, wall_inc),
        ("full recompute (base + day)", cpu_re, wall_re),
    ):
        print(f"| {name} | {cpu:.2f} | {wall:.2f} | {cpu / cpu_views:.2f} |")
    print(f"incremental / full recompute (CPU): {cpu_inc / cpu_re:.3f}")


if __name__ == "__main__":
    main()
