"""SMART on FHIR enforcement — https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html

Bearer tokens (https://www.rfc-editor.org/rfc/rfc6750) are verified by
:class:`yteso.auth.TokenService`; each request then needs a scope with the permission its
interaction takes (c create, r read/vread/instance history, u update/patch, d delete, s search
and type/system history). A type the scopes never grant is 403 (the caller knows its own
scopes); a resource outside what they grant (another patient's, a filtered-out category) is 404,
exactly as if it did not exist. A restricted caller's write by id of a resource it may not see
(absent, deleted or hidden) is that same 404, and criteria (chains, ``_has``, conditional
interactions) consider only what it may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlencode

from yteso.api.access import RequestGuard
from yteso.api.audit_patients import patients_concerned
from yteso.api.caller_reach import CallerReach
from yteso.api.dispatch import level
from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.patient_records import StorePatientRecords
from yteso.auth import (
    NON_CLINICAL_ROLES,
    Principal,
    ResourceAccess,
    ResourceScope,
    TokenService,
    audit_event,
)
from yteso.fhir.errors import Forbidden, NotFound, Unauthorized
from yteso.fhir.types import Json
from yteso.store.base import Reach, StoredVersion

# principal, network address, request, status, the patients it concerned
AuditRecorder = Callable[[Principal, str, FhirRequest, int, tuple[str, ...]], None]
AuditAppend = Callable[[Json], object]

INTERACTION_OF = {
    ("type", "GET"): "search-type",
    ("search", "GET"): "search-type",
    ("search", "POST"): "search-type",
    ("system", "GET"): "search-system",
    ("system", "POST"): "batch",
    ("type", "POST"): "create",
    ("type", "PUT"): "update",
    ("type", "PATCH"): "patch",
    ("type", "DELETE"): "delete",
    ("instance", "GET"): "read",
    ("instance", "PUT"): "update",
    ("instance", "PATCH"): "patch",
    ("instance", "DELETE"): "delete",
    ("version", "GET"): "vread",
    ("history", "GET"): "history",
    ("metadata", "GET"): "capabilities",
}

# Who may write a Consent: the patient (a patient token, inside their compartment) or an
# authorised service (system/ scopes, operator tokens); never a practitioner, who could
# otherwise grant themselves access or remove a refusal.
CONSENT_WRITES = frozenset("cud")
WRITES_BY_ID = frozenset("ud")
# Bulk export status and file URLs check in their handler that the caller started the job
# (what went into the files was already screened by this guard while they were written).
JOB_OWNER_CHECKED = frozenset({"$export-poll-status", "$export-file"})
PERMISSION_OF = {
    ("type", "GET"): "s",
    ("search", "GET"): "s",
    ("search", "POST"): "s",
    ("type", "POST"): "c",
    ("type", "PUT"): "u",
    ("type", "PATCH"): "u",
    ("type", "DELETE"): "d",
    ("instance", "GET"): "r",
    ("instance", "PUT"): "u",
    ("instance", "PATCH"): "u",
    ("instance", "DELETE"): "d",
    ("version", "GET"): "r",
}


class SmartGuard:
    """The :class:`RequestGuard` of one verified token."""

    def __init__(self, principal: Principal, client: str, audit: AuditRecorder | None) -> None:
        self.principal = principal
        self.access = ResourceAccess(principal)
        self.client = client
        self.audit = audit
        self._seen: list[Json] = []  # resources checked for the entry being decided (audit)

    def _require_type(self, resource_type: str, permission: str) -> None:
        if not self.access.grants(resource_type, permission):
            raise Forbidden(f"The token's scopes do not allow '{permission}' on {resource_type}")

    def _require_resource(self, resource: Json, permission: str) -> None:
        if not self.access.may(resource, permission):
            kind, id = resource.get("resourceType"), resource.get("id")
            raise NotFound(f"{kind}/{id} is not known" if id else f"No such {kind} may be written")

    def _check_current(self, ctx: ApiContext, resource_type: str, id: str, permission: str) -> None:
        """A restricted caller reaches an id only when it may see its current version. A
        deleted or hidden one is 404; so is an absent one for a write (no update-as-create,
        no "deleted nothing"), while a read of it gets the interaction's own, identical 404."""
        unrestricted = self.access.unrestricted(resource_type, permission)
        if unrestricted and permission != "d":
            return
        try:
            stored = ctx.read(resource_type, id)
        except NotFound:
            if unrestricted or permission not in WRITES_BY_ID:
                return
            raise NotFound(f"{resource_type}/{id} is not known") from None
        resource = None if stored.deleted else stored.resource()
        if resource is not None:
            self._seen.append(resource)  # for the audit (a deleted one is gone afterwards)
        if not unrestricted and (resource is None or not self.access.may(resource, permission)):
            raise NotFound(f"{resource_type}/{id} is not known")

    def _narrowed(self, request: FhirRequest, resource_type: str, permission: str) -> FhirRequest:
        extra = self.access.search_narrowing(resource_type, permission)
        return replace(request, params=request.params + extra) if extra else request

    def before(self, ctx: ApiContext, request: FhirRequest) -> FhirRequest:
        if self.principal.role in NON_CLINICAL_ROLES:
            raise Forbidden(f"The {self.principal.role} role has no access to clinical data")
        self.access.records = StorePatientRecords(ctx)
        kind = level(request)
        if kind == "metadata" or (
            kind == "system" and request.method == "POST" and request.operation is None
        ):
            return request  # batch/transaction entries come back through dispatch one by one
        if kind in ("system", "history") and request.resource_type is None:
            return self._system_level(ctx, request)
        assert request.resource_type is not None
        resource_type = request.resource_type
        if request.operation is not None and request.operation.startswith("$"):
            return self._operation(ctx, request, resource_type)
        if kind == "history":
            return self._history(ctx, request, resource_type)
        permission = PERMISSION_OF[(kind, request.method)]
        self._require_type(resource_type, permission)
        if resource_type == "Consent" and permission in CONSENT_WRITES:
            self._require_consent_writer()
        if request.id is not None:
            self._check_current(ctx, resource_type, request.id, permission)
        body = request.body if isinstance(request.body, dict) else None
        if body is not None and request.method in ("POST", "PUT"):
            self._require_resource(body, permission)
        if kind == "type" and request.method == "PUT" and isinstance((body or {}).get("id"), str):
            # a conditional update naming an id: an update of that id if nothing matches
            self._check_current(ctx, resource_type, str((body or {})["id"]), permission)
        if request.if_none_exist is not None:
            return self._narrowed_if_none_exist(request, resource_type)
        if kind in ("type", "search"):
            return self._narrowed(request, resource_type, permission)
        return request

    def _require_consent_writer(self) -> None:
        if self.principal.practitioner is not None or self.principal.role == "practitioner":
            raise Forbidden(
                "Consents are written by the patient (a patient token) or an authorised "
                "service, not by a practitioner",
                expression="Consent",
            )

    def _narrowed_if_none_exist(self, request: FhirRequest, resource_type: str) -> FhirRequest:
        """The existing match is handed back ("r"): narrow its criteria like a search (the
        store still checks each match, see :class:`CallerReach`)."""
        extra = self.access.search_narrowing(resource_type, "r")
        if not extra or request.if_none_exist is None:
            return request
        criteria = f"{request.if_none_exist}&{urlencode(extra)}"
        return replace(request, if_none_exist=criteria)

    def _system_level(self, ctx: ApiContext, request: FhirRequest) -> FhirRequest:
        if request.operation in JOB_OWNER_CHECKED:
            return request
        if request.operation is not None and request.operation.startswith("$"):
            # a system-level operation reaches every patient's data ($export) or the whole
            # store ($reindex): only a scope on every type, bound to no patient or facility
            declared = ctx.settings.operations.get(request.operation)
            changes = declared is not None and declared.affects_state and request.method != "GET"
            needed = "u" if changes else "r"
            if not self.access.unrestricted("*", needed):
                raise Forbidden(
                    f"{request.operation} at the system level needs an unrestricted "
                    f"'*' scope with '{needed}'"
                )
            return request
        if not any("s" in s.permissions for s in self.principal.scopes.resource_scopes):
            raise Forbidden("The token's scopes allow no search")
        types = [v for k, v in request.params if k == "_type"]
        if len(types) == 1 and "," not in types[0]:
            self._require_type(types[0], "s")
            return self._narrowed(request, types[0], "s")
        return request

    def _history(self, ctx: ApiContext, request: FhirRequest, resource_type: str) -> FhirRequest:
        permission = "r" if request.id is not None else "s"
        self._require_type(resource_type, permission)
        if request.id is not None:
            self._check_current(ctx, resource_type, request.id, permission)
        return request

    def _operation(self, ctx: ApiContext, request: FhirRequest, resource_type: str) -> FhirRequest:
        if not any(s.covers(resource_type, p) for s in self._scopes() for p in "cruds"):
            raise Forbidden(f"The token's scopes do not allow {resource_type}")
        declared = ctx.settings.operations.get(request.operation or "")
        needed = declared.unrestricted if declared is not None else None
        if needed is not None and not self.access.unrestricted(resource_type, needed):
            raise Forbidden(
                f"{request.operation} needs an unrestricted '{needed}' scope on {resource_type}"
            )
        if request.id is not None:
            self._require_type(resource_type, "r")
            self._check_current(ctx, resource_type, request.id, "r")
        return request

    def _scopes(self) -> tuple[ResourceScope, ...]:
        return self.principal.scopes.resource_scopes

    def after(self, ctx: ApiContext, request: FhirRequest, response: FhirResponse) -> None:
        """A resource going out (a version read, the existing match of a conditional create)
        must be one the caller may see with the interaction's permission."""
        stored = response.stored
        if stored is None or stored.deleted:
            return
        permission = PERMISSION_OF.get((level(request), request.method), "r")
        if request.method == "POST" and response.status == 200:
            permission = "r"  # a conditional create handing back the existing match
        if not self.visible(stored, permission):
            raise NotFound(f"{stored.resource_type}/{stored.id} is not known")

    def grants(self, resource_type: str, permission: str) -> bool:
        return bool(self.access.grants(resource_type, permission))

    def reach(self, permission: str) -> Reach:
        return CallerReach(self.access, self.visible, permission)

    def restricted(self, resource_type: str | None, permission: str) -> bool:
        if resource_type is None:
            types = {s.resource_type for s in self._scopes() if permission in s.permissions}
            return (
                not types
                or any(self.restricted(t, permission) for t in types if t != "*")
                or ("*" in types and not self.access.unrestricted("*", permission))
            )
        return not self.access.unrestricted(resource_type, permission)

    def visible(self, stored: StoredVersion, permission: str) -> bool:
        if self.access.unrestricted(stored.resource_type, permission):
            return True
        return not stored.deleted and self.access.may(stored.resource(), permission)

    def record(
        self,
        ctx: ApiContext,
        request: FhirRequest,
        status: int,
        response: FhirResponse | None = None,
    ) -> None:
        seen, self._seen = self._seen, []
        if self.audit is None:
            return
        resources = [*seen, *_resources_of(request, response)]
        patients = patients_concerned(self.principal, request, resources)
        self.audit(self.principal, self.client, request, status, patients)


def _resources_of(request: FhirRequest, response: FhirResponse | None) -> list[Json]:
    """The resources an interaction wrote or read: its body, the resources a search or history
    page returned, the stored version it answers with, the first version of an instance history."""
    found: list[Json] = []
    if isinstance(request.body, dict) and request.body.get("resourceType") != "Bundle":
        found.append(request.body)
    if response is None:
        return found
    # bounded: a page holds at most MAX_COUNT matches and MAX_INCLUDED includes (1000 each)
    found.extend(stored.resource() for stored in response.returned if not stored.deleted)
    if response.stored is not None and not response.stored.deleted:
        found.append(response.stored.resource())
    elif request.id is not None and isinstance(response.resource, dict):
        entries = response.resource.get("entry") or [{}]
        first = entries[0].get("resource") if isinstance(entries[0], dict) else None
        if isinstance(first, dict):
            found.append(first)
    return found


def _interaction(request: FhirRequest) -> str:
    if request.operation is not None and request.operation.startswith("$"):
        return "operation"
    if isinstance(request.body, dict) and request.body.get("type") == "transaction":
        return "transaction"
    return INTERACTION_OF.get((level(request), request.method), "operation")


def _what(request: FhirRequest) -> str | None:
    if request.resource_type is None or request.id is None:
        return request.resource_type
    version = f"/_history/{request.version}" if request.version else ""
    return f"{request.resource_type}/{request.id}{version}"


def audit_recorder(append: AuditAppend) -> AuditRecorder:
    """An :data:`AuditRecorder` writing one BALP AuditEvent per decided interaction."""

    def record(
        principal: Principal,
        client: str,
        request: FhirRequest,
        status: int,
        patients: tuple[str, ...],
    ) -> None:
        query = "&".join(f"{k}={v}" for k, v in request.params) or None
        append(
            audit_event(
                interaction=_interaction(request),
                subject=principal.subject,
                client_id=principal.client_id,
                network_address=client,
                status=status,
                what=_what(request),
                patients=patients,
                query=query,
                break_glass=principal.break_glass,
            )
        )

    return record


class SmartAccessControl:
    """Bearer tokens verified by ``tokens``; every decision reported to ``audit``."""

    def __init__(self, tokens: TokenService, audit: AuditAppend | None = None) -> None:
        self.tokens = tokens
        self.append = audit
        self.audit = audit_recorder(audit) if audit is not None else None

    def guard_for(self, authorization: str | None, client: str) -> RequestGuard | None:
        scheme, _, token = (authorization or "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("A bearer access token is required (Authorization: Bearer ...)")
            principal = self.tokens.verify(token.strip())
        except Unauthorized:
            if self.append is not None:  # a failed authentication; the token is not kept
                self.append(
                    audit_event(
                        interaction="login",
                        subject="unauthenticated",
                        client_id=None,
                        network_address=client,
                        status=401,
                        kind="110114",
                    )
                )
            raise
        return SmartGuard(principal, client, self.audit)


__all__ = ["AuditAppend", "AuditRecorder", "SmartAccessControl", "SmartGuard", "audit_recorder"]
