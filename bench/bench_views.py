"""SQL-on-FHIR view speed: rows/s per engine against hand-written DuckDB SQL, in one run.

    .venv/bin/python bench/bench_views.py [--people 42750] [--seed 1] [--repeat 3]
        [--postgres postgresql://postgres@127.0.0.1:5432/yteso_test] [--pg-schema NAME] [--spark]
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
  through ``yteso.store.load_paths`` into schema ``--pg-schema`` (default
  ``bench_views_<people>_<seed>``; kept for reruns; load time not counted): ``run_view``'s first
  run (timed once: on a fresh load it parses the type's bodies into the store's JSONB cache,
  ``resource_json``), then ``run_view`` (dicts), our compiled SQL fetched as tuples, and
  hand-written PostgreSQL SQL (``->``/``->>`` on the cached JSONB, the fair limit there; on a
  store from before migration 0016, ``resource_current.content``) fetched the same way; its
  ratio column is to the hand-written PostgreSQL SQL;
- peers (with ``--peers``): ``fhir4ds`` and ``fhir4ds-v2`` from PyPI, each in its own venv
  (``/tmp/peers-venv``, ``/tmp/peers-venv2``, created here when absent) so that their
  dependencies never touch ours, run by ``bench/peers_views.py`` on the same view and NDJSON
  (``CREATE TABLE AS`` their SQL, as our "duckdb table");
- ``spark`` (with ``--spark``): the view compiled to Spark SQL in local mode (2 cores), read
  with the view's typed schema and written to the ``noop`` sink (wall time includes the read);
- ``python``: the FHIRPath evaluator over the first ``--python-limit`` resources.
Times are the best of ``--repeat`` runs (wall clock); ratio = our time / hand-written time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
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
# {current}: the type's current JSONB as ``content`` (CACHED, or CONTENT before migration 0016)
HAND_WRITTEN_PG = {
    "patient_demographics": """
        SELECT r.content ->> 'id', r.content ->> 'gender', r.content ->> 'birthDate',
               n ->> 'use', n ->> 'family',
               coalesce((SELECT string_agg(g, ' ')
                         FROM jsonb_array_elements_text(n -> 'given') g), '')
        FROM {current} r CROSS JOIN LATERAL jsonb_array_elements(r.content -> 'name') n""",
    "observation": """
        SELECT content ->> 'id', content -> 'code' -> 'coding' -> 0 ->> 'system',
               content -> 'code' -> 'coding' -> 0 ->> 'code',
               (content -> 'valueQuantity' ->> 'value')::double precision,
               content -> 'valueQuantity' ->> 'unit',
               substring(content -> 'subject' ->> 'reference' FROM '^Patient/([^/]+)$'),
               content ->> 'effectiveDateTime'
        FROM {current} r""",
}
CACHED = (
    "(SELECT j.content FROM resource_current c JOIN resource_json j ON j.seq = c.seq"
    " WHERE c.resource_type = '{kind}' AND NOT c.deleted)"
)
CONTENT = "(SELECT content FROM resource_current WHERE resource_type = '{kind}' AND NOT deleted)"
PEERS = {"fhir4ds": Path("/tmp/peers-venv"), "fhir4ds-v2": Path("/tmp/peers-venv2")}


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


def peer_venv(peer: str) -> Path:
    """The peer's own venv (created and filled from PyPI on first use)."""
    venv = PEERS[peer]
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", peer], check=True)
    return venv


def peer_run(peer: str, name: str, folder: Path, repeat: int) -> dict[str, Any]:
    view = Path(__file__).parent.parent / "yteso" / "warehouse" / "views" / f"{name}.json"
    script = Path(__file__).parent / "peers_views.py"
    python = peer_venv(peer) / "bin" / "python"
    done = subprocess.run(
        [str(python), str(script), peer, str(view), str(folder), "--repeat", str(repeat)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"error": done.stderr[-300:]}


def pg_fetch(url: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(url) as connection:
        return len(connection.execute(sql.encode()).fetchall())


def pg_hand_written(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url) as connection:
        cached = connection.execute("SELECT to_regclass('resource_json')").fetchone()
    current = CACHED if cached and cached[0] else CONTENT
    return HAND_WRITTEN_PG[name].format(current=current.format(kind=TYPES[name]))


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
    parser.add_argument("--pg-schema", default=None, help="default bench_views_<people>_<seed>")
    parser.add_argument("--python-limit", type=int, default=20_000)
    parser.add_argument("--spark", action="store_true", help="also Spark local mode")
    parser.add_argument("--peers", action="store_true", help="also fhir4ds and fhir4ds-v2")
    args = parser.parse_args()
    folder = population(args.people, args.seed)
    total = sum(1 for path in folder.glob("*.ndjson") for _ in path.open("rb"))
    print(f"{total:,} resources in {folder}")
    schema = args.pg_schema or f"bench_views_{args.people}_{args.seed}"
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
        from yteso.warehouse.postgres_paths import compile_postgres_view
        from yteso.warehouse.postgres_views import CURRENT_RESOURCES

        relation = CURRENT_RESOURCES.format(kind=f"'{checked.resource}'")
        pg_sql = compile_postgres_view(checked, relation).sql
        first_time, first_rows = best(1, lambda: len(run_view(view, pg)))
        line(name, "pg first run", first_time, first_rows, base_time)
        hand_sql = pg_hand_written(pg, name)
        hand_time, hand_rows = best(args.repeat, lambda: pg_fetch(pg, hand_sql))
        line(name, "pg hand-written", hand_time, hand_rows, base_time)
        sql_time, sql_rows = best(args.repeat, lambda: pg_fetch(pg, pg_sql))
        line(name, "pg compiled SQL", sql_time, sql_rows, base_time)
        print(f"{'':22} {'':14} ratio to hand-written PostgreSQL: {sql_time / hand_time:.2f}")
        pg_time, pg_rows = best(args.repeat, lambda: len(run_view(view, pg)))
        line(name, "pg run_view", pg_time, pg_rows, base_time)
        assert sql_rows == hand_rows == pg_rows == first_rows == base_rows, (name, sql_rows)
    if spark is not None:
        spark_seconds(spark, view, folder)  # warm-up: JVM code paths, file listing
        spark_time, spark_rows = best(args.repeat, lambda: spark_seconds(spark, view, folder)[1])
        line(name, "spark local[2]", spark_time, spark_rows, base_time)
    if args.peers:
        for peer in PEERS:
            found = peer_run(peer, name, folder, args.repeat)
            if "error" in found:
                print(f"{name:22} {peer:14} failed: {found['error'][:160]}")
                continue
            label = peer + ("*" if found["without_types"] else "")
            line(name, label, found["seconds"], found["rows"], base_time)
    sample = list(islice(read_resources(folder, TYPES[name]), args.python_limit))
    runner = PythonViewRunner(checked)
    py_time, py_rows = best(1, lambda: sum(1 for _ in runner.rows(sample)))
    line(name, f"python ({len(sample) // 1000}k)", py_time, py_rows, None)


if __name__ == "__main__":
    main()
