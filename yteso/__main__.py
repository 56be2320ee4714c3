"""``python -m yteso`` runs the command line."""

from __future__ import annotations

from yteso.cli.main import main

main()
