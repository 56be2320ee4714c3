"""The master patient index in the server: real-time matching on every Patient write, links
and golden records in FHIR, steward decisions, merges and the batch re-run (docs/mpi.md)."""

from __future__ import annotations

from yteso.modules.mpi.batch import BatchReport, link_store
from yteso.modules.mpi.merge import MergeResult, merge, unmerge
from yteso.modules.mpi.registry import MpiRegistry

__all__ = ["BatchReport", "MergeResult", "MpiRegistry", "link_store", "merge", "unmerge"]
