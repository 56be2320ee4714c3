"""SQL-on-FHIR view speed: rows/s per engine against hand-written DuckDB SQL, in one run.

    .venv/bin/python bench/bench_views.py [--people 42750] [--seed 1] [--repeat 3]
        [--postgres postgresql://postgres@127.0.0.1:5432/yteso_test] [--spark]
        [--python-limit 20000]

About 23.7 resources per synthetic person: 42,750 people give ~1,000,000 resources (generated
once by ``yteso.synth`` into ``bench/out/views/``, git-ignored). Two shipped views are
materialised: ``patient_demographics`` (forEach over names) and ``observation`` (code, value,
unit, subject, effective time).

- ``duckdb table``: the compiled view, ``CREATE TABLE ... AS`` inside DuckDB (what the
  warehouse does when it materialises a view);
- ``run_view``: the public ``yteso.warehouse.run_view`` returning Python dicts;
- ``hand-written``: DuckDB SQL with typed ``read_ndjson`` extracting the same columns (the
  practical limit), same DuckDB connection and files; the two tables are checked identical;
- ``postgres`` (with ``--postgres``): the view on the live store, after loading the two types
  through ``yteso.store.load_paths`` into schema ``bench_views_<people>_<seed>`` (kept for
  reruns; load time not counted);
- ``spark`` (with ``--spark``): the view compiled to Spark SQL in local mode (2 cores), read
  with the view's typed schema and written to the ``noop`` sink (wall time includes the read);
- ``python``: the FHIRPath evaluator over the first ``--python-limit`` resources.
Times are the best of ``--repeat`` runs (wall clock); ratio = our time / hand-written time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb

from yteso.synth import generate
from yteso.warehouse import PythonViewRunner, read_resources, read_view, run_view, standard_view
from yteso.warehouse.duckdb_views import compile_for_duckdb

OUT = Path(__file__).parent / "out" / "views"

HAND_WRITTEN = {
    "patient_demographics": """
        SELECT id AS patient_id, gender, birthDate AS birth_date, n.use AS name_use,
               n.family AS family, coalesce(array_to_string(n.given, ' '), '') AS given
        FROM (SELECT id, gender, birthDate, unnest(name) AS n
              FROM read_ndjson('{folder}/Patient.ndjson', columns = {{
                  id: 'VARCHAR', gender: 'VARCHAR', birthDate: 'VARCHAR',
                  name: 'STRUCT(use VARCHAR, family VARCHAR, given VARCHAR[])[]'}}))""",
    "observation": """
        SELECT id AS observation_id, code.coding[1].system AS code_system,
               code.coding[1].code AS code, valueQuantity.value AS value,
               valueQuantity.unit AS unit,
               nullif(regexp_extract(subject.reference, '^Patient/([^/]+)', 1), '') AS patient_id,
               effectiveDateTime AS effective
        FROM read_ndjson('{folder}/Observation.ndjson', columns = {{
            id: 'VARCHAR', code: 'STRUCT(coding STRUCT(system VARCHAR, code VARCHAR)[])',
            valueQuantity: 'STRUCT(value DOUBLE, unit VARCHAR)',
            subject: 'STRUCT(reference VARCHAR)', effectiveDateTime: 'VARCHAR'}})""",
}
TYPES = {"patient_demographics": "Patient", "observation": "Observation"}


def population(people: int, seed: int) -> Path:
    folder = OUT / f"people-{people}-seed-{seed}"
    if not (folder / "Patient.ndjson").exists():
        print(generate(people, seed, folder))
    return folder


def best(repeat: int, work: Callable[[], int]) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = work()
        times.append(time.perf_counter() - started)
    return min(times), rows


def materialise(connection: duckdb.DuckDBPyConnection, table: str, sql: str) -> int:
    connection.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}")
    count = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(count[0]) if count else 0


def postgres_url(base: str, folder: Path, schema: str) -> str:
    """A store holding the Patient and Observation files (loaded once, kept for reruns)."""
    import psycopg

    from yteso.store import load_paths, open_store

    url = base + "?options=" + quote(f"-csearch_path={schema}")
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        loaded = connection.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'resource_current'",
            (schema,),
        ).fetchone()
    if loaded:
        print(f"postgres: reusing the store in schema {schema} (drop it to reload)")
        return url
    store = open_store(url)
    started = time.perf_counter()
    report = load_paths(store, [folder / "Patient.ndjson", folder / "Observation.ndjson"])
    print(f"postgres: loaded {report.loaded:,} resources in {time.perf_counter() - started:.0f} s")
    store.close()
    return url


def spark_seconds(spark: Any, view: dict[str, Any], folder: Path) -> tuple[float, int]:
    """Spark local mode: the compiled view written to the ``noop`` sink (everything computed)."""
    from yteso.warehouse.spark_views import compile_spark_view

    checked = read_view(view)
    sql, schema = compile_spark_view(checked)
    path = str(folder / f"{checked.resource}.ndjson")
    frame = spark.read.schema(schema).json(path)
    frame.where(frame.resourceType == checked.resource).createOrReplaceTempView("resources")
    started = time.perf_counter()
    spark.sql(sql).write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - started
    return seconds, spark.sql(sql).count()


def line(name: str, engine: str, seconds: float, rows: int, baseline: float | None) -> None:
    ratio = f"{seconds / baseline:5.2f}x" if baseline else "     "
    print(f"{name:22} {engine:14} {rows:>10,} rows {seconds:8.3f} s {rows / seconds:>12,.0f} rows/s"
          f"  {ratio}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=42_750)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--python-limit", type=int, default=20_000)
    parser.add_argument("--spark", action="store_true", help="also Spark local mode")
    args = parser.parse_args()
    folder = population(args.people, args.seed)
    total = sum(1 for path in folder.glob("*.ndjson") for _ in path.open("rb"))
    print(f"{total:,} resources in {folder}")
    schema = f"bench_views_{args.people}_{args.seed}"
    pg = postgres_url(args.postgres, folder, schema) if args.postgres else None
    spark = None
    if args.spark:
        from yteso.warehouse.spark_views import local_spark

        spark = local_spark()
        spark.sparkContext.setLogLevel("ERROR")
    connection = duckdb.connect()
    for name in HAND_WRITTEN:
        bench_view(name, folder, connection, pg, spark, args)


def bench_view(
    name: str,
    folder: Path,
    connection: duckdb.DuckDBPyConnection,
    pg: str | None,
    spark: Any,
    args: argparse.Namespace,
) -> None:
    view = standard_view(name)
    checked = read_view(view)
    ours_sql = compile_for_duckdb(checked, connection, folder).sql
    base_sql = HAND_WRITTEN[name].format(folder=folder)
    base_time, base_rows = best(args.repeat, lambda: materialise(connection, "base", base_sql))
    ours_time, ours_rows = best(args.repeat, lambda: materialise(connection, "ours", ours_sql))
    differing = connection.execute(
        "SELECT count(*) FROM ((SELECT * FROM ours EXCEPT ALL SELECT * FROM base) "
        "UNION ALL (SELECT * FROM base EXCEPT ALL SELECT * FROM ours))"
    ).fetchone()
    assert differing == (0,) and ours_rows == base_rows, (name, differing)
    line(name, "hand-written", base_time, base_rows, base_time)
    line(name, "duckdb table", ours_time, ours_rows, base_time)
    run_time, run_rows = best(args.repeat, lambda: len(run_view(view, folder)))
    line(name, "run_view", run_time, run_rows, base_time)
    if pg is not None:
        pg_time, pg_rows = best(args.repeat, lambda: len(run_view(view, pg)))
        line(name, "postgres", pg_time, pg_rows, base_time)
    if spark is not None:
        spark_seconds(spark, view, folder)  # warm-up: JVM code paths, file listing
        spark_time, spark_rows = best(args.repeat, lambda: spark_seconds(spark, view, folder)[1])
        line(name, "spark local[2]", spark_time, spark_rows, base_time)
    sample = list(islice(read_resources(folder, TYPES[name]), args.python_limit))
    runner = PythonViewRunner(checked)
    py_time, py_rows = best(1, lambda: sum(1 for _ in runner.rows(sample)))
    line(name, f"python ({len(sample) // 1000}k)", py_time, py_rows, None)


if __name__ == "__main__":
    main()
