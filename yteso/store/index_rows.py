"""The seam where search indexes will be extracted at write time.

A later issue evaluates every SearchParameter expression (FHIRPath) against each resource and
stores the values in string/token/date/number/quantity/reference/uri index tables, as HAPI and
Medplum do (https://hl7.org/fhir/R4/search.html). Every write path already calls
:func:`extract_index_rows` and hands the rows to the backend in the same database transaction
as the resource itself, so adding indexes changes this module and the schema, not the write
paths. Extraction is CPU-bound and runs in the bulk loader's worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from yteso.fhir.types import Json


@dataclass(frozen=True)
class IndexRow:
    """One extracted search value: ``table`` names the index table (``token``, ``date``...)."""

    table: str
    param: str
    values: tuple[str | int | float | None, ...]


def extract_index_rows(resource: Json) -> list[IndexRow]:
    """The index rows of one resource; none yet (only ``_id``/``_lastUpdated`` are searchable,
    and those are columns of the current-version table)."""
    del resource
    return []
