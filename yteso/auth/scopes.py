"""SMART on FHIR resource scopes — https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html

v2: ``patient|user|system/Type.cruds[?param=value&...]``; v1: ``.read`` (= ``rs``), ``.write``
(= ``cud``) and ``.*`` (= ``cruds``). Other scopes (``openid``, ``fhirUser``, ``launch/patient``,
``offline_access``) carry no resource access and are kept as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from yteso.fhir.errors import Invalid

CONTEXTS = ("patient", "user", "system")
PERMISSION_ORDER = "cruds"
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_RESOURCE_SCOPE = re.compile(
    r"(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{1,63})"
    r"\.(?P<permissions>[a-z*]+)(?:\?(?P<query>.*))?"
)


@dataclass(frozen=True)
class ResourceScope:
    """One resource scope: who it speaks for, which type, which permissions, which filter."""

    context: str  # patient | user | system
    resource_type: str  # a type or "*"
    permissions: frozenset[str]  # subset of c r u d s
    filters: tuple[tuple[str, str], ...] = ()  # search parameters a resource must match

    def covers(self, resource_type: str, permission: str) -> bool:
        return permission in self.permissions and self.resource_type in ("*", resource_type)

    def within(self, wider: ResourceScope) -> bool:
        """Whether every access this scope gives, ``wider`` gives too: same context, a type it
        covers, a subset of its permissions, and each of its filters repeated here with a
        subset of its (ORed) values. Extra filters here only narrow further."""
        return (
            self.context == wider.context
            and wider.resource_type in ("*", self.resource_type)
            and self.permissions <= wider.permissions
            and all(_narrows(self.filters, name, values) for name, values in wider.filters)
        )


def _narrows(filters: tuple[tuple[str, str], ...], name: str, values: str) -> bool:
    allowed = set(values.split(","))
    return any(n == name and set(v.split(",")) <= allowed for n, v in filters)


def _permissions(text: str, scope: str) -> frozenset[str]:
    if text in V1_PERMISSIONS:
        return frozenset(V1_PERMISSIONS[text])
    letters = list(text)
    ordered = [c for c in PERMISSION_ORDER if c in letters]
    if not text or len(set(letters)) != len(letters) or ordered != letters:
        raise Invalid(f"Scope {scope!r}: permissions must be a subset of 'cruds' in that order")
    return frozenset(letters)


def parse_scope(scope: str) -> ResourceScope | None:
    """A resource scope, or None for a scope that grants no resource access (``openid``...)."""
    match = _RESOURCE_SCOPE.fullmatch(scope)
    if match is None:
        if "/" in scope and scope.split("/", 1)[0] in CONTEXTS:
            raise Invalid(f"Scope {scope!r} is not a SMART resource scope")
        return None
    filters = tuple(parse_qsl(match["query"] or "", keep_blank_values=False, strict_parsing=False))
    if match["query"] and not filters:
        raise Invalid(f"Scope {scope!r}: the query after '?' names no parameter")
    return ResourceScope(
        match["context"], match["type"], _permissions(match["permissions"], scope), filters
    )


@dataclass(frozen=True)
class ScopeSet:
    """The parsed scopes of one token."""

    text: tuple[str, ...]
    resource_scopes: tuple[ResourceScope, ...]

    @classmethod
    def parse(cls, scopes: str) -> ScopeSet:
        text = tuple(s for s in scopes.split() if s)
        parsed = (parse_scope(s) for s in text)
        return cls(text, tuple(s for s in parsed if s is not None))

    def granting(self, resource_type: str, permission: str) -> tuple[ResourceScope, ...]:
        """The scopes that allow ``permission`` on ``resource_type`` (empty: denied)."""
        return tuple(s for s in self.resource_scopes if s.covers(resource_type, permission))

    def has(self, scope: str) -> bool:
        return scope in self.text

    def allows(self, scope: str) -> bool:
        """Whether ``scope`` (already parsed once) may be granted under these scopes: a
        resource scope within one of them (``patient/Observation.rs`` under ``patient/*.rs``),
        any other scope (``openid``, ``offline_access``...) only when listed as it is."""
        parsed = parse_scope(scope)
        if parsed is None:
            return scope in self.text
        return any(parsed.within(wider) for wider in self.resource_scopes)

    def __str__(self) -> str:
        return " ".join(self.text)


__all__ = ["ResourceScope", "ScopeSet", "parse_scope"]
