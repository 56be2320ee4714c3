"""The ``yteso`` command line (entry point ``yteso.cli.main:main``; no importable API)."""

from __future__ import annotations

__all__: list[str] = []
