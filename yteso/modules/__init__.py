"""Platform modules (immunization, telehealth, surveillance, ...), one package each.

Each reaches storage only through ``yteso.store`` and declares its operations, search parameters,
profiles, views and pages in a manifest that ``yteso.app`` wires.
"""

from __future__ import annotations

__all__: list[str] = []
