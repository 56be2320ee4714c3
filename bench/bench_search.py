"""Search benchmark: 14 representative FHIR searches over a synthetic population, both databases.

    .venv/bin/python bench/bench_search.py [--people 2000] [--db sqlite|postgresql|both]
                                           [--repeat 30] [--reuse]

Generates the synthetic population (``yteso.synth.generate``) as NDJSON under
bench/out/search/, bulk-loads it with every search parameter indexed (``load_paths``; the load
rate is printed), runs ANALYZE, then times each query ``--repeat`` times in-process through
``store.search`` (p50/p99 in ms) and prints its plan (PostgreSQL ``EXPLAIN``, SQLite
``EXPLAIN QUERY PLAN``) for the first page statement. ``--reuse`` skips generation and loading
(the store's migrations still apply on open); generated NDJSON is kept and reused. At the
issue's size: ``--people 42750`` (1,002,253 resources).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg

from yteso.store import SearchParam, SearchQuery, SqlStore, load_paths, open_store
from yteso.store.search_sql import Statement, plan_search
from yteso.synth import generate

OUT = Path(__file__).resolve().parent / "out" / "search"
PG_BASE = "postgresql://postgres@127.0.0.1:5432/yteso_test"
PG_SCHEMA = "bench_search"
CCCD = "http://fhir.hl7.org.vn/core/sid/cccd"

Case = tuple[str, str, SearchQuery]


def _param(raw: str, value: str) -> SearchParam:
    name, _, modifier = raw.partition(":")
    return SearchParam(name, tuple(value.split(",")), modifier or None)


def _query(*pairs: tuple[str, str], **controls: object) -> SearchQuery:
    return SearchQuery(params=tuple(_param(n, v) for n, v in pairs), **controls)  # type: ignore[arg-type]


def _sample(folder: Path) -> dict[str, list[dict[str, object]]]:
    """A few real values to search for, read from the generated NDJSON."""
    wanted = {"Patient": [], "Observation": [], "Condition": [], "Organization": []}
    for path in sorted(folder.glob("*.ndjson")):
        with path.open("rb") as lines:
            for line in lines:
                resource = orjson.loads(line)
                bucket = wanted.get(resource["resourceType"])
                if bucket is not None and len(bucket) < 2000:
                    bucket.append(resource)
    return wanted


def cases(folder: Path) -> list[Case]:
    sample = _sample(folder)
    rng = random.Random(7)
    patient = rng.choice(sample["Patient"])
    cccd = next(i["value"] for i in patient["identifier"] if i["system"] == CCCD)  # type: ignore[index]
    codes = sorted({o["code"]["coding"][0]["code"] for o in sample["Observation"]})  # type: ignore[index]
    fillers = [f"{90000 + i}-{i % 10}" for i in range(100 - len(codes))]
    conditions = sorted({c["code"]["coding"][0]["code"] for c in sample["Condition"]})  # type: ignore[index]
    org = sample["Organization"][0]["name"]
    return [
        ("name prefix", "Patient", _query(("name", "nguyen van"))),
        ("citizen-ID identifier", "Patient", _query(("identifier", f"{CCCD}|{cccd}"))),
        ("date range", "Encounter", _query(("date", "ge2025-03-01"), ("date", "lt2025-03-08"))),
        ("token OR 100 codes", "Observation", _query(("code", ",".join(codes + fillers)))),
        (
            "two-level chain",
            "Encounter",
            _query(("subject:Patient.organization.name", str(org)[:12])),
        ),
        ("_has", "Patient", _query(("_has:Condition:patient:code", conditions[-1]))),
        ("patient=", "Observation", _query(("patient", f"Patient/{patient['id']}"))),
        ("patient:missing=true", "Observation", _query(("patient:missing", "true"))),
        (
            "_include",
            "Observation",
            _query(("subject", f"Patient/{patient['id']}"), ("_include", "Observation:subject")),
        ),
        (
            "_revinclude",
            "Patient",
            _query(("identifier", f"{CCCD}|{cccd}"), ("_revinclude", "Observation:subject")),
        ),
        ("sort by date, page 1", "Observation", _query(sort=("-date",), count=50)),
        ("sort by date, page 50", "Observation", _query(sort=("-date",), count=50)),
        ("_total=accurate (all)", "Observation", _query(count=0, total="accurate")),
        (
            "compartment + sort",
            "Observation",
            _query(("_compartment", f"Patient/{patient['id']}"), sort=("-date",)),
        ),
    ]


def _page_50(store: SqlStore, resource_type: str, query: SearchQuery) -> SearchQuery:
    for _ in range(49):
        result = store.search(resource_type, query)
        if result.next_cursor is None:
            break
        query = SearchQuery(
            params=query.params, sort=query.sort, count=query.count, cursor=result.next_cursor
        )
    return query


def _plan(store: SqlStore, resource_type: str, query: SearchQuery) -> list[str]:
    """The plan of the statement that reads the first page (the count for ``_count=0``),
    planned with the same bounded probes as a real search."""
    prefix = "EXPLAIN QUERY PLAN " if store.dialect == "sqlite" else "EXPLAIN "
    with store.backend.reading() as db:

        def probe(statement: Statement) -> int:
            return int(db.rows(statement.sql, statement.params)[0][0])

        plan = plan_search(store.backend.dialect, resource_type, query, datetime.now(UTC), probe)
        statement = plan.total if query.count == 0 and plan.total else plan.page
        rows = db.rows(prefix + statement.sql, statement.params)
    return [str(row[-1] if store.dialect == "sqlite" else row[0]) for row in rows]


def jit_comparison(store: SqlStore, repeat: int) -> None:
    """PostgreSQL: the count of every Observation with JIT on and off, same run, same
    connection settings otherwise (the store's connections run with jit off)."""
    query = _query(count=0, total="accurate")
    plan = plan_search(store.backend.dialect, "Observation", query, datetime.now(UTC))
    assert plan.total is not None
    with psycopg.connect(_url("postgresql", fresh=False), autocommit=True) as conn:
        for setting in ("on", "off", "on", "off"):
            conn.execute(f"SET jit = {setting}")
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                conn.execute(plan.total.sql, plan.total.params).fetchall()
                timings.append((time.perf_counter() - started) * 1000)
            print(
                f"count of all Observations, jit {setting}: p50 {statistics.median(timings):.1f} ms"
            )


def run_cases(store: SqlStore, folder: Path, repeat: int) -> None:
    print(f"\n### {store.dialect}\n")
    print("| query | matches | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    plans: list[tuple[str, list[str]]] = []
    for label, resource_type, query in cases(folder):
        if label.endswith("page 50"):
            query = _page_50(store, resource_type, query)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = store.search(resource_type, query)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        found = result.total if query.count == 0 else len(result.matches) + len(result.included)
        median = statistics.median(timings)
        print(f"| {label} | {found} | {median:.1f} | {p99:.1f} |", flush=True)
        plans.append((label, _plan(store, resource_type, query)))
    for label, lines in plans:
        print(f"\n{store.dialect} plan, {label}:\n")
        print("\n".join("    " + line for line in lines))


def _analyze(db: str, store: SqlStore) -> None:
    """Statistics for the planners; on PostgreSQL also the visibility map (index-only scans)."""
    if db == "sqlite":
        with store.backend.reading() as conn:
            conn.run("ANALYZE")
        return
    with psycopg.connect(_url(db, fresh=False), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def add_location_args(parser: argparse.ArgumentParser) -> None:
    """Where the databases live, so concurrent sessions do not share (and reload) one."""
    parser.add_argument("--out", type=Path, default=OUT, help="NDJSON and SQLite files")
    parser.add_argument("--schema", default=PG_SCHEMA, help="PostgreSQL schema")


def use_location(args: argparse.Namespace) -> None:
    global OUT, PG_SCHEMA
    OUT, PG_SCHEMA = args.out, args.schema


def _url(db: str, fresh: bool, people: int = 42750) -> str:
    if db == "sqlite":
        path = OUT / f"yteso-{people}.db"  # one database per population size
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    if fresh:
        with psycopg.connect(PG_BASE.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = 'yteso_test'"
            ).fetchone():
                conn.execute("CREATE DATABASE yteso_test")
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
            conn.execute(f"CREATE SCHEMA {PG_SCHEMA}")
    return f"{PG_BASE}?options=-csearch_path%3D{PG_SCHEMA}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--analyze", action="store_true", help="refresh statistics on --reuse")
    add_location_args(parser)
    args = parser.parse_args()
    use_location(args)
    folder = OUT / f"people-{args.people}"
    if not args.reuse and not any(folder.glob("*.ndjson")):  # generated data is kept
        folder.mkdir(parents=True, exist_ok=True)
        generate(args.people, 1, folder)
    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        started = time.perf_counter()
        store = open_store(_url(db, fresh=not args.reuse, people=args.people))
        print(f"{db}: opened (migrations applied) in {time.perf_counter() - started:.0f} s")
        if not args.reuse:
            started = time.perf_counter()
            report = load_paths(store, [folder])
            seconds = time.perf_counter() - started
            print(f"{db}: loaded {report.loaded} resources in {seconds:.0f} s", end="")
            print(
                f" ({report.loaded / seconds:,.0f}/s, every search parameter indexed)", flush=True
            )
            _analyze(db, store)
        elif args.analyze:  # e.g. after a migration added indexes to a reused database
            started = time.perf_counter()
            _analyze(db, store)
            print(f"{db}: statistics refreshed in {time.perf_counter() - started:.0f} s")
        print(f"{db}: {sum(store.counts().values()):,} resources")
        run_cases(store, folder, args.repeat)
        if db == "postgresql":
            jit_comparison(store, max(3, args.repeat // 3))
        store.close()


if __name__ == "__main__":
    main()
