"""Indicators as data, computed incrementally in DuckDB (see docs/indicators.md)."""

from __future__ import annotations

from yteso.warehouse.indicators.definitions import (
    Indicator,
    read_indicator,
    shipped_indicators,
    shipped_views,
)
from yteso.warehouse.indicators.engine import IndicatorWarehouse, ResourceFeed, RunReport
from yteso.warehouse.indicators.query import measure_report, query_indicator, query_quality

__all__ = [
    "Indicator",
    "IndicatorWarehouse",
    "ResourceFeed",
    "RunReport",
    "measure_report",
    "query_indicator",
    "query_quality",
    "read_indicator",
    "shipped_indicators",
    "shipped_views",
]
