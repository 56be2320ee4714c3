"""The store behind a practitioner's reach: a Patient and its Consents, read for the access rules.

Consents are found with the ``patient`` search parameter when the store indexes it, otherwise by
a scan of current Consents (correct, not fast: the search index makes it one lookup).
"""

from __future__ import annotations

from yteso.api.exchange import ApiContext
from yteso.fhir.errors import NotFound
from yteso.fhir.types import Json
from yteso.store.base import SearchParam, SearchQuery


class StorePatientRecords:
    """:class:`yteso.auth.care_relations.PatientRecords` over the request's store or session."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def patient(self, id: str) -> Json | None:
        try:
            stored = self.ctx.read("Patient", id)
        except NotFound:
            return None
        return None if stored.deleted else stored.resource()

    def consents(self, patient_id: str) -> list[Json]:
        target = f"Patient/{patient_id}"
        if "patient" in self.ctx.supported_params("Consent"):
            query = SearchQuery(params=(SearchParam("patient", (target,)),), count=1000)
            return [s.resource() for s in self.ctx.store.search("Consent", query).matches]
        return [
            resource
            for stored in self.ctx.store.iter_current("Consent")
            if not stored.deleted
            and str(
                (resource := stored.resource()).get("patient", {}).get("reference", "")
            ).endswith(target)
        ]


__all__ = ["StorePatientRecords"]
