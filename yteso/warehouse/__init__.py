"""The health data warehouse: SQL-on-FHIR v2 views over the store, NDJSON and Parquet."""

from __future__ import annotations

from yteso.warehouse.python_views import PythonViewRunner
from yteso.warehouse.view_definition import View, read_view

__all__ = ["PythonViewRunner", "View", "read_view"]
