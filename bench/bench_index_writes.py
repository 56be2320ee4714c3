"""Writer cost per resource with every search parameter indexed, schema variants in one run.

    .venv/bin/python bench/bench_index_writes.py [--resources 5000] [--rounds 3] [--db sqlite]

Prepares ``--resources`` synthetic resources once (``yteso.synth.iter_resources``; validation
and index extraction are LOAD's cost, not measured here), then times only the writer
(``write_prepared``: resource rows plus index rows, batches of 1,000) into fresh databases of
each schema variant, alternating variants ``--rounds`` times; reports the best process CPU time
and wall time per resource. Variants: ``0003`` (migration 0004's trigram text index and
covering date indexes undone) and ``0004`` (the current schema).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from yteso.store import SqlStore, open_store
from yteso.store.bulk_prepare import PreparedResource, prepare_resource
from yteso.synth import iter_resources

PG_BASE = "postgresql://postgres@127.0.0.1:5432/yteso_test"
BATCH = 1000
UNDO_0004 = {
    "sqlite": [
        "DROP TRIGGER search_text_fts_insert",
        "DROP TRIGGER search_text_fts_delete",
        "DROP TABLE search_text_fts",
    ],
    "postgresql": ["DROP INDEX search_text_trigram"],
}
OLD_DATE_INDEXES = [
    "DROP INDEX search_date_lookup",
    "CREATE INDEX search_date_lookup ON search_date (resource_type, param, low, id)",
    "DROP INDEX search_date_high",
    "CREATE INDEX search_date_high ON search_date (resource_type, param, high, id)",
]


def prepared(count: int) -> list[PreparedResource]:
    now = datetime.now(UTC)
    out = []
    for resource in iter_resources(count // 20 + 1, 3):
        item = prepare_resource(resource, now)
        if isinstance(item, PreparedResource):
            out.append(item)
        if len(out) == count:
            break
    return out


def open_variant(db: str, variant: str, folder: Path, round_: int) -> tuple[SqlStore, str]:
    if db == "sqlite":
        store = open_store(f"sqlite:///{folder / f'{variant}-{round_}.db'}")
        schema = ""
    else:
        schema = f"bench_writes_{variant}_{round_}"
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")
        store = open_store(f"{PG_BASE}?options=-csearch_path%3D{schema}")
    if variant == "0003":
        with store.backend.writing() as conn:
            for statement in UNDO_0004[db] + OLD_DATE_INDEXES:
                conn.run(statement)
    return store, schema


def timed(store: SqlStore, items: list[PreparedResource]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(items), BATCH):
        store.write_prepared(items[start : start + BATCH])
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    items = prepared(args.resources)
    rows = sum(len(p.index_rows) for p in items) / len(items)
    print(f"{len(items)} resources, {rows:.1f} index rows each, {args.db}")
    best: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for variant in ("0003", "0004"):
                store, schema = open_variant(args.db, variant, Path(tmp), round_)
                cpu, wall = timed(store, items)
                store.close()
                if schema:
                    with psycopg.connect(PG_BASE, autocommit=True) as conn:
                        conn.execute(f"DROP SCHEMA {schema} CASCADE")
                old = best.get(variant, (cpu, wall))
                best[variant] = (min(old[0], cpu), min(old[1], wall))
                print(f"round {round_} {variant}: {cpu / len(items) * 1e6:.0f} us CPU per resource")
    for variant, (cpu, wall) in best.items():
        per_cpu, per_wall = cpu / len(items) * 1e6, wall / len(items) * 1e6
        print(f"{variant}: best {per_cpu:.0f} us CPU, {per_wall:.0f} us wall per resource")
    ratio = best["0004"][0] / best["0003"][0]
    print(f"0004 / 0003 writer CPU: {ratio:.2f}x")


if __name__ == "__main__":
    main()
