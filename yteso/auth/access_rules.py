"""Who may see which resource: SMART scopes, the patient compartment and scope filters.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html — a ``patient/`` scope
reaches only resources in the launch patient's compartment
(https://hl7.org/fhir/R4/compartmentdefinition-patient.html); ``?param=value`` on a scope limits
it to resources matching that search parameter (token, reference and string parameters are
evaluated here with their official FHIRPath expressions; any other type matches nothing, which
errs on the side of refusing).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from yteso.auth.accounts import NON_CLINICAL_ROLES
from yteso.auth.care_records import Criteria
from yteso.auth.care_relations import PatientRecords, practitioner_reaches
from yteso.auth.scopes import ResourceScope
from yteso.auth.tokens import Principal
from yteso.fhir.definitions import patient_compartment, search_parameters
from yteso.fhir.types import Json
from yteso.fhirpath import evaluate

# Scope filter types :func:`matches_filter` evaluates (any other matches nothing).
FILTER_TYPES = frozenset({"token", "reference", "string"})


@cache
def compartment_params(resource_type: str) -> tuple[str, ...]:
    return patient_compartment().get(resource_type, ())


def _values(resource: Json, param: str) -> list[object]:
    definition = search_parameters(str(resource.get("resourceType"))).get(param)
    if definition is None or not definition.expression:
        return []
    return list(evaluate(resource, definition.expression))


def _is_reference_to(value: object, target: str) -> bool:
    reference = value.get("reference") if isinstance(value, dict) else value
    return isinstance(reference, str) and (reference == target or reference.endswith("/" + target))


def in_patient_compartment(resource: Json, patient_id: str) -> bool:
    """Whether ``resource`` belongs to Patient/``patient_id``'s compartment."""
    resource_type = str(resource.get("resourceType"))
    if resource_type == "Patient" and resource.get("id") == patient_id:
        return True
    target = f"Patient/{patient_id}"
    return any(
        _is_reference_to(value, target)
        for param in compartment_params(resource_type)
        for value in _values(resource, param)
    )


def _codings(value: object) -> Iterable[tuple[str | None, str | None]]:
    if isinstance(value, str):
        yield None, value
    elif isinstance(value, dict):
        if "coding" in value:
            for coding in value.get("coding") or []:
                yield from _codings(coding)
        elif "code" in value or "system" in value:
            yield value.get("system"), value.get("code")
        elif "value" in value:  # Identifier
            yield value.get("system"), value.get("value")


def _token_matches(values: list[object], wanted: str) -> bool:
    system, bar, code = wanted.rpartition("|")
    for found_system, found_code in (c for v in values for c in _codings(v)):
        if found_code != code:
            continue
        if not bar or (system == "" and found_system is None) or system == found_system:
            return True
    return False


def matches_filter(resource: Json, param: str, wanted: str) -> bool:
    """Whether ``resource`` matches ``param=wanted`` (values ORed by commas)."""
    definition = search_parameters(str(resource.get("resourceType"))).get(param)
    if definition is None:
        return False
    values = _values(resource, param)
    for alternative in wanted.split(","):
        if definition.type == "token" and _token_matches(values, alternative):
            return True
        if definition.type == "reference" and any(_is_reference_to(v, alternative) for v in values):
            return True
        if definition.type == "string" and any(
            isinstance(v, str) and v.lower().startswith(alternative.lower()) for v in values
        ):
            return True
    return False


def compartment_patients(resource: Json) -> set[str]:
    """The ids of the patients whose compartment holds ``resource``."""
    resource_type = str(resource.get("resourceType"))
    found = {str(resource.get("id"))} if resource_type == "Patient" else set()
    for param in compartment_params(resource_type):
        for value in _values(resource, param):
            reference = value.get("reference") if isinstance(value, dict) else value
            if isinstance(reference, str) and "Patient/" in reference:
                found.add(reference.rsplit("Patient/", 1)[1].split("/")[0])
    return found


class _CachedRecords:
    """One request's reads of Patients, Consents and care records, each done once."""

    def __init__(self, records: PatientRecords) -> None:
        self.records = records
        self._patients: dict[str, Json | None] = {}
        self._consents: dict[str, list[Json]] = {}
        self._related: dict[tuple[str, Criteria], list[Json]] = {}

    def patient(self, id: str) -> Json | None:
        if id not in self._patients:
            self._patients[id] = self.records.patient(id)
        return self._patients[id]

    def consents(self, patient_id: str) -> list[Json]:
        if patient_id not in self._consents:
            self._consents[patient_id] = self.records.consents(patient_id)
        return self._consents[patient_id]

    def related(self, resource_type: str, criteria: Criteria) -> list[Json]:
        key = (resource_type, criteria)
        if key not in self._related:
            self._related[key] = self.records.related(resource_type, criteria)
        return self._related[key]


class ResourceAccess:
    """The access decisions for one principal (``records`` for a practitioner's reach)."""

    def __init__(self, principal: Principal, records: PatientRecords | None = None) -> None:
        self.principal = principal
        self.records = records
        self._cache: _CachedRecords | None = None

    def _cached(self, records: PatientRecords) -> _CachedRecords:
        if self._cache is None or self._cache.records is not records:
            self._cache = _CachedRecords(records)
        return self._cache

    def _practitioner_reaches(self, resource: Json, permission: str) -> bool:
        practitioner = self.principal.practitioner
        if practitioner is None or self.principal.break_glass is not None:
            return True
        patients = compartment_patients(resource)
        if not patients:
            return True  # not a patient's data (Organization, Practitioner, ValueSet...)
        if self.records is None:
            return False
        records = self._cached(self.records)
        action = "access" if permission in ("r", "s") else "correct"
        return any(
            practitioner_reaches(
                records, patient, practitioner, self.principal.facility, resource, action
            )
            for patient in sorted(patients)
        )

    def grants(self, resource_type: str, permission: str) -> tuple[ResourceScope, ...]:
        if self.principal.role in NON_CLINICAL_ROLES:
            return ()  # whatever a token of an administrator or auditor says
        return self.principal.scopes.granting(resource_type, permission)

    def _scope_allows(self, scope: ResourceScope, resource: Json, permission: str) -> bool:
        if scope.context == "patient":
            patient = self.principal.patient
            if patient is None or not in_patient_compartment(resource, patient):
                return False
        if scope.context == "user" and not self._practitioner_reaches(resource, permission):
            return False
        return all(matches_filter(resource, name, value) for name, value in scope.filters)

    def may(self, resource: Json, permission: str) -> bool:
        """Whether some scope lets the principal ``permission`` this resource."""
        scopes = self.grants(str(resource.get("resourceType")), permission)
        return any(self._scope_allows(scope, resource, permission) for scope in scopes)

    def unrestricted(self, resource_type: str, permission: str) -> bool:
        """A scope grants the type without compartment or filter: no per-resource check needed."""
        bound = self.principal.practitioner is not None and self.principal.break_glass is None
        return any(
            (s.context == "system" or (s.context == "user" and not bound)) and not s.filters
            for s in self.grants(resource_type, permission)
        )

    def search_narrowing(self, resource_type: str, permission: str) -> tuple[tuple[str, str], ...]:
        """Search parameters to AND into a search so that paging and totals see only what the
        scopes allow (results are still checked one by one afterwards)."""
        scopes = self.grants(resource_type, permission)
        if not scopes or self.unrestricted(resource_type, permission) or len(scopes) > 1:
            return ()
        scope = scopes[0]
        narrowing = list(scope.filters)
        if scope.context == "patient" and self.principal.patient is not None:
            narrowing.extend(self._compartment_narrowing(resource_type))
        return tuple(narrowing)

    def search_criteria(self, resource_type: str) -> tuple[tuple[str, str], ...] | None:
        """Search criteria selecting exactly what the principal may search of
        ``resource_type`` (``()``: all of it), for criteria that look into it from another
        type (chains, ``_has``). None when that cannot be said as criteria: no scope grants
        it, a practitioner's reach (Consents, labels: decided per resource), a scope filter
        of a type only evaluated here, or several scopes whose union is no one of them."""
        scopes = self.grants(resource_type, "s")
        if not scopes:
            return None
        if self.unrestricted(resource_type, "s"):
            return ()
        options = [self._scope_criteria(scope, resource_type) for scope in scopes]
        for option in options:  # fewer criteria select more: the widest scope is the union
            if option is not None and all(o is not None and set(option) <= set(o) for o in options):
                return option
        return None

    def _scope_criteria(
        self, scope: ResourceScope, resource_type: str
    ) -> tuple[tuple[str, str], ...] | None:
        definitions = search_parameters(resource_type)
        for name, _ in scope.filters:
            definition = definitions.get(name)
            if definition is None or definition.type not in FILTER_TYPES:
                return None
        in_compartment = resource_type == "Patient" or bool(compartment_params(resource_type))
        criteria = list(scope.filters)
        if scope.context == "patient":
            if self.principal.patient is None or not in_compartment:
                return None  # a patient scope reaches only the patient's compartment
            criteria.append(("_compartment", f"Patient/{self.principal.patient}"))
        bound = self.principal.practitioner is not None and self.principal.break_glass is None
        if scope.context == "user" and bound and in_compartment:
            return None
        return tuple(criteria)

    def _compartment_narrowing(self, resource_type: str) -> list[tuple[str, str]]:
        """One linking parameter can be ANDed in; with several (Observation: subject and
        performer) ANDing one would hide resources the others link, so only the check after
        the search applies."""
        patient = self.principal.patient
        if resource_type == "Patient":
            return [("_id", str(patient))]
        params = compartment_params(resource_type)
        return [(params[0], f"Patient/{patient}")] if len(params) == 1 else []


__all__ = [
    "ResourceAccess",
    "compartment_params",
    "compartment_patients",
    "in_patient_compartment",
    "matches_filter",
]
