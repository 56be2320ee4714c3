"""Yteso: an open national digital health platform on an HL7 FHIR R4 backbone."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from yteso import native

# Before any submodule: the compiled hot path runs only if it matches its sources.
native.select()

try:
    __version__ = version("yteso")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
