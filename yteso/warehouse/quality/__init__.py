"""Data-quality checks as data, scored by facility and period (see docs/indicators.md)."""

from __future__ import annotations

from yteso.warehouse.quality.checks import Check, read_check, shipped_checks

__all__ = ["Check", "read_check", "shipped_checks"]
