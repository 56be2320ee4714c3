"""The optional ``_content`` text index: writer cost and query speed, off against on.

    .venv/bin/python bench/bench_content_index.py [--resources 10000] [--rounds 2] [--db sqlite]

Prepares ``--resources`` synthetic resources once, then per round writes them (``write_prepared``,
batches of 1,000; the writer only, as in ``bench_index_writes.py``) into a fresh database with
the index off and one with it on (``SqlStore.set_content_index(True)`` before writing),
alternating; reports the best process CPU and wall time per resource and the ratio. With the
last round's two databases, times ``Patient?_content=...`` and ``Observation?_content=...``
first pages (median of 15 runs each): texts cut from the data, a common one, and one that
matches nothing (the scan's worst case).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from bench_index_writes import PG_BASE, prepared, timed

from yteso.store import SearchParam, SearchQuery, SqlStore, open_store


def fresh(db: str, name: str, folder: Path) -> SqlStore:
    if db == "sqlite":
        return open_store(f"sqlite:///{folder / f'{name}.db'}")
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.execute(f"CREATE SCHEMA {name}")
    return open_store(f"{PG_BASE}?options=-csearch_path%3D{name}")


def drop(db: str, name: str) -> None:
    if db != "sqlite":
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def query_ms(store: SqlStore, resource_type: str, text: str) -> tuple[float, int]:
    query = SearchQuery(params=(SearchParam("_content", (text,)),), count=50)
    times, found = [], 0
    for _ in range(15):
        started = time.perf_counter()
        found = len(store.search(resource_type, query).matches)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    items = prepared(args.resources)
    print(f"{len(items)} resources, {args.db}")
    best: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        kept: dict[str, SqlStore] = {}
        for round_ in range(args.rounds):
            for variant in ("off", "on"):
                name = f"bench_content_{variant}_{round_}"
                store = fresh(args.db, name, Path(tmp))
                store.set_content_index(variant == "on")
                cpu, wall = timed(store, items)
                old = best.get(variant, (cpu, wall))
                best[variant] = (min(old[0], cpu), min(old[1], wall))
                print(f"round {round_} {variant}: {cpu / len(items) * 1e6:.0f} us CPU per resource")
                if round_ == args.rounds - 1:
                    kept[variant] = store
                else:
                    store.close()
                    drop(args.db, name)
        for variant, (cpu, wall) in best.items():
            per_cpu, per_wall = cpu / len(items) * 1e6, wall / len(items) * 1e6
            print(f"{variant}: best {per_cpu:.0f} us CPU, {per_wall:.0f} us wall per resource")
        print(
            f"on / off writer CPU: {best['on'][0] / best['off'][0]:.2f}x,"
            f" wall: {best['on'][1] / best['off'][1]:.2f}x"
        )
        rng = random.Random(5)
        for resource_type in ("Patient", "Observation"):
            typed = [p for p in items if p.resource_type == resource_type]
            texts = []
            for item in rng.sample(typed, 2):
                content = next(str(v[0]) for _, p, v in item.index_rows if p == "_content")
                start = rng.randrange(max(1, len(content) - 10))
                texts.append(content[start : start + 10].strip())
            texts += ["nguyen", "zzqxw"]  # a common text; one that matches nothing (full scan)
            for text in texts:
                off_ms, found = query_ms(kept["off"], resource_type, text)
                on_ms, found_on = query_ms(kept["on"], resource_type, text)
                assert found == found_on, (text, found, found_on)
                print(
                    f"{resource_type}?_content={text!r}: {found} on the first page;"
                    f" off {off_ms:.2f} ms, on {on_ms:.2f} ms"
                )
        for variant, store in kept.items():
            store.close()
            drop(args.db, f"bench_content_{variant}_{args.rounds - 1}")


if __name__ == "__main__":
    main()
