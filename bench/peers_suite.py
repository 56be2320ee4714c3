"""A peer engine on the official SQL-on-FHIR v2 suite, run inside that peer's own venv.

    /tmp/peers-venv/bin/python bench/peers_suite.py fhir4ds ../shared/suites/sql-on-fhir-v2/tests

Each case: the file's resources loaded into the peer's DuckDB table, the view's SQL generated
and run, rows compared as a multiset (1.0 equals 1) with the expected rows, the expected
column order, or an expected error, as ``tests/conformance/test_sql_on_fhir_suite.py`` does for
ours. Prints the pass count and the failing case ids (a case that raises, or runs over 30 s,
counts as failed; SIGALRM cannot interrupt a query stuck inside DuckDB's C code, so run the
script under ``timeout``; fhir4ds-v2 0.0.17 took about 13 minutes for the suite here).
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from peers_views import _NoInstall


def _normal(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normal(item) for item in value]
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return _normal(json.loads(value))
        except ValueError:
            return value
    return value


def _key(row: dict[str, Any]) -> str:
    return json.dumps({k: _normal(v) for k, v in row.items()}, sort_keys=True, default=str)


def _fhir4ds(resources: list[Any], view: dict[str, Any]) -> list[dict[str, Any]]:
    import duckdb
    from fhir4ds.datastore import ConnectedDatabase, FHIRDataStore
    from fhir4ds.dialects import DuckDBDialect

    connection = duckdb.connect()
    store = FHIRDataStore(dialect=DuckDBDialect(connection=_NoInstall(connection)))
    db = ConnectedDatabase(store, connection_type="DuckDB (Memory)")
    for resource in resources:
        connection.execute(
            "INSERT INTO fhir_resources (resource) VALUES (?)", [json.dumps(resource)]
        )
    sql = db.view_runner.execute_view_definition(view).sql
    cursor = connection.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _fhir4ds_v2(resources: list[Any], view: dict[str, Any]) -> list[dict[str, Any]]:
    import fhir4ds

    connection = fhir4ds.create_connection()
    connection.execute(
        "CREATE TABLE resources (id VARCHAR, resourceType VARCHAR, resource JSON, "
        "patient_ref VARCHAR)"
    )
    for resource in resources:
        connection.execute(
            "INSERT INTO resources VALUES (?, ?, ?, NULL)",
            [resource.get("id"), resource.get("resourceType"), json.dumps(resource)],
        )
    view = {k: v for k, v in view.items() if k != "resourceType"}
    cursor = connection.execute(fhir4ds.generate_view_sql(view))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


CASE_SECONDS = 30


class CaseTimeout(BaseException):
    pass


def _timeout(signum: int, frame: Any) -> None:
    raise CaseTimeout


def main() -> None:
    signal.signal(signal.SIGALRM, _timeout)
    peer, folder = sys.argv[1], Path(sys.argv[2])
    run = _fhir4ds if peer == "fhir4ds" else _fhir4ds_v2
    passed, failed = 0, []
    for path in sorted(folder.glob("*.json")):
        suite = json.loads(path.read_text())
        for case in suite["tests"]:
            name = f"{path.stem}:{case['title']}"
            signal.alarm(CASE_SECONDS)  # a case that hangs counts as failed
            try:
                rows = run(suite["resources"], case["view"])
            except (Exception, CaseTimeout):
                ok = bool(case.get("expectError"))
            else:
                if case.get("expectError"):
                    ok = False
                elif "expectColumns" in case:
                    ok = all(list(row) == case["expectColumns"] for row in rows)
                else:
                    ok = sorted(map(_key, rows)) == sorted(map(_key, case["expect"]))
            finally:
                signal.alarm(0)
            if ok:
                passed += 1
            else:
                failed.append(name)
    total = passed + len(failed)
    print(json.dumps({"passed": passed, "total": total, "failed": failed}))


if __name__ == "__main__":
    main()
