"""The health data warehouse: SQL-on-FHIR v2 views over the store, NDJSON and Parquet.

https://sql-on-fhir.org/ig/latest/. ``run_view(view, source)`` is the entry point; the engines
(DuckDB, PostgreSQL, the Python FHIRPath evaluator) are public for tests and benchmarks.
"""

from __future__ import annotations

from yteso.warehouse.duckdb_views import run_duckdb
from yteso.warehouse.postgres_views import run_postgres
from yteso.warehouse.python_views import PythonViewRunner
from yteso.warehouse.run_views import read_resources, run_view, sql_compiles
from yteso.warehouse.standard_views import standard_view, standard_view_names
from yteso.warehouse.view_definition import View, read_view
from yteso.warehouse.view_output import materialise_view, run_view_to_file, write_rows
from yteso.warehouse.view_sql import CompiledView, compile_view

__all__ = [
    "CompiledView",
    "PythonViewRunner",
    "View",
    "compile_view",
    "materialise_view",
    "read_resources",
    "read_view",
    "run_duckdb",
    "run_postgres",
    "run_view",
    "run_view_to_file",
    "sql_compiles",
    "standard_view",
    "standard_view_names",
    "write_rows",
]
