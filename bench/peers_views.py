"""One peer SQL-on-FHIR engine on one view, run inside that peer's own venv (never ours).

    /tmp/peers-venv/bin/python bench/peers_views.py fhir4ds VIEW.json FOLDER [--repeat 3]

``bench/bench_views.py --peers`` creates the venvs (``/tmp/peers-venv`` with ``fhir4ds``,
``/tmp/peers-venv2`` with ``fhir4ds-v2``, from PyPI) and calls this script; it prints one JSON
line: rows, best seconds of ``--repeat``, or the error. Both peers run on DuckDB: the resources
of the view's type are loaded from ``FOLDER/<Type>.ndjson`` into the table each peer expects
(not timed), then the view is materialised with ``CREATE TABLE ... AS`` its generated SQL
(timed), the same measure as our "duckdb table".
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


class _NoInstall:
    """A DuckDB connection that skips ``INSTALL json`` (built in; INSTALL would download)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.strip().upper().startswith("INSTALL JSON"):
            return self.connection.execute("LOAD json")
        return self.connection.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)


def _fhir4ds(view: dict[str, Any], files: str) -> tuple[Any, str]:
    import duckdb
    from fhir4ds.datastore import ConnectedDatabase, FHIRDataStore
    from fhir4ds.dialects import DuckDBDialect

    connection = duckdb.connect()
    datastore = FHIRDataStore(dialect=DuckDBDialect(connection=_NoInstall(connection)))
    db = ConnectedDatabase(datastore, connection_type="DuckDB (Memory)")
    connection.execute(
        "INSERT INTO fhir_resources (resource) SELECT json FROM "
        f"read_json_objects({files}, format = 'newline_delimited', maximum_object_size = 99999999)"
    )
    sql = db.view_runner.execute_view_definition(view).sql.strip().rstrip(";")
    return connection, sql


def _fhir4ds_v2(view: dict[str, Any], files: str) -> tuple[Any, str]:
    import fhir4ds

    view = {k: v for k, v in view.items() if k != "resourceType"}  # it wants a canonical URL
    connection = fhir4ds.create_connection()
    connection.execute(
        "CREATE TABLE resources AS SELECT json ->> 'id' AS id, json ->> 'resourceType' AS "
        "resourceType, json AS resource, NULL::VARCHAR AS patient_ref FROM "
        f"read_json_objects({files}, format = 'newline_delimited', maximum_object_size = 99999999)"
    )
    return connection, fhir4ds.generate_view_sql(view)


def _untyped(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _untyped(v) for k, v in node.items() if not (k == "type" and "path" in node)}
    if isinstance(node, list):
        return [_untyped(item) for item in node]
    return node


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("peer", choices=["fhir4ds", "fhir4ds-v2"])
    parser.add_argument("view", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    view = json.loads(args.view.read_text())
    files = "'" + str(args.folder / f"{view['resource']}.ndjson").replace("'", "''") + "'"
    setup = _fhir4ds if args.peer == "fhir4ds" else _fhir4ds_v2

    def run(definition: dict[str, Any]) -> tuple[int, float]:
        connection, sql = setup(definition, files)
        times, rows = [], 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            connection.execute(f"CREATE OR REPLACE TABLE peer_out AS {sql}")
            times.append(time.perf_counter() - started)
            rows = connection.execute("SELECT count(*) FROM peer_out").fetchone()[0]
        return rows, min(times)

    try:
        try:
            rows, seconds = run(view)
            adapted = False
        except Exception:  # retried without declared column types (the data are the same)
            rows, seconds = run(_untyped(view))
            adapted = True
        print(json.dumps({"rows": rows, "seconds": seconds, "without_types": adapted}))
    except Exception as error:  # a peer failing a view is a result, not a crash
        print(json.dumps({"error": f"{type(error).__name__}: {str(error)[:300]}"}))


if __name__ == "__main__":
    main()
