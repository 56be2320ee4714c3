"""Access and audit: SMART on FHIR scopes, signed access tokens, access rules, audit trail.

https://hl7.org/fhir/smart-app-launch/ — the store layer of security: it knows FHIR (and
FHIRPath, to decide compartment membership and scope filters) but not HTTP; ``yteso.api``
enforces its decisions on every interaction and ``yteso.app`` wires it.
"""

from __future__ import annotations

from yteso.auth.access_rules import ResourceAccess, in_patient_compartment, matches_filter
from yteso.auth.accounts import (
    NON_CLINICAL_ROLES,
    ROLES,
    AccountRegistry,
    ClientApp,
    LoginRefused,
    UserAccount,
)
from yteso.auth.audit_events import access_report, audit_event, patients_named
from yteso.auth.audit_log import AuditLog, VerifyReport
from yteso.auth.authorization_server import (
    AuthorizationRequest,
    AuthorizationServer,
    OAuthError,
    TokenGrant,
)
from yteso.auth.directory import (
    Directory,
    LinkRefused,
    PractitionerLink,
    account_links,
    citizen_patient,
    practitioner_link,
)
from yteso.auth.keys import KeyRing
from yteso.auth.merkle import MerkleAccumulator, leaf_hash, merkle_root, node_hash
from yteso.auth.scopes import ResourceScope, ScopeSet, parse_scope
from yteso.auth.security_feed import SecurityFeed, feed_record, syslog_message
from yteso.auth.security_services import DEFAULT_AUDIENCE, DEFAULT_ISSUER, SecurityServices
from yteso.auth.state import AuthState, MemoryAuthState
from yteso.auth.tokens import DEFAULT_TTL_SECONDS, Principal, RevocationList, TokenService

__all__ = [  # noqa: RUF022 - plain sorted order, as tests/test_public_api.py checks
    "AccountRegistry",
    "AuditLog",
    "AuthState",
    "AuthorizationRequest",
    "AuthorizationServer",
    "ClientApp",
    "DEFAULT_AUDIENCE",
    "DEFAULT_ISSUER",
    "DEFAULT_TTL_SECONDS",
    "Directory",
    "KeyRing",
    "LinkRefused",
    "LoginRefused",
    "MemoryAuthState",
    "MerkleAccumulator",
    "NON_CLINICAL_ROLES",
    "OAuthError",
    "PractitionerLink",
    "Principal",
    "ROLES",
    "ResourceAccess",
    "ResourceScope",
    "RevocationList",
    "ScopeSet",
    "SecurityFeed",
    "SecurityServices",
    "TokenGrant",
    "TokenService",
    "UserAccount",
    "VerifyReport",
    "access_report",
    "account_links",
    "audit_event",
    "citizen_patient",
    "feed_record",
    "in_patient_compartment",
    "leaf_hash",
    "matches_filter",
    "merkle_root",
    "node_hash",
    "parse_scope",
    "patients_named",
    "practitioner_link",
    "syslog_message",
]
