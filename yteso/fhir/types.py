"""Shared type aliases at the bottom of the package graph."""

from __future__ import annotations

from typing import Any, TypeAlias

#: A FHIR resource or element as parsed JSON (objects are dicts with string keys).
Json: TypeAlias = dict[str, Any]
#: A FHIR resource type name such as ``"Patient"``.
ResourceType: TypeAlias = str

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"

__all__ = ["FHIR_JSON", "FHIR_VERSION", "Json", "ResourceType"]
