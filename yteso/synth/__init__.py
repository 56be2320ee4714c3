"""Synthetic Vietnamese population as FHIR R4 NDJSON (``yteso synth``); see docs/synthetic-data.md.

Deterministic by seed (same arguments, byte-identical files) and streamed household by
household, so memory does not grow with the population.
"""

from __future__ import annotations

from yteso.synth.generator import Progress, SynthReport, generate, iter_resources
from yteso.synth.population import DEFAULT_AS_OF

__all__ = ["DEFAULT_AS_OF", "Progress", "SynthReport", "generate", "iter_resources"]
