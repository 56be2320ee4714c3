"""The store behind a practitioner's reach: a Patient, its Consents and its care records
(CareTeam, EpisodeOfCare, Encounter), read for the access rules.

Consents are found with the ``patient`` search parameter when the store indexes it, otherwise by
a scan of current Consents (correct, not fast: the search index makes it one lookup). Care
records are found only through indexed searches: a type the store does not search by every
criterion records no relationship (refusing rather than scanning).
"""

from __future__ import annotations

from yteso.api.exchange import ApiContext
from yteso.auth.care_records import Criteria
from yteso.fhir.errors import NotFound
from yteso.fhir.types import Json
from yteso.store.base import SearchParam, SearchQuery

# Care records read per patient and practitioner: far more than one patient has with one carer.
RELATED_LIMIT = 1000


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

    def related(self, resource_type: str, criteria: Criteria) -> list[Json]:
        supported = self.ctx.supported_params(resource_type)
        if resource_type not in self.ctx.resource_types or any(
            name not in supported and name != "_id" for name, _ in criteria
        ):
            return []
        params = tuple(SearchParam(name, tuple(value.split(","))) for name, value in criteria)
        query = SearchQuery(params=params, count=RELATED_LIMIT)
        return [s.resource() for s in self.ctx.store.search(resource_type, query).matches]


__all__ = ["StorePatientRecords"]
