"""FHIR's additions to FHIRPath: extension, hasValue, getValue, resolve, memberOf, conformsTo,
checkModifiers, htmlChecks (subsumes/subsumedBy: ``subsumption.py``).

https://hl7.org/fhir/R4/fhirpath.html#functions. ``resolve()`` looks in the resource's
``contained``, then in the enclosing Bundle, then asks the injectable resolver; ``memberOf()``
asks the injectable terminology check, else the enumerable required-binding value sets shipped
with the definitions; ``conformsTo()`` asks the injectable profile check, else
``yteso.fhirpath.profiles`` (core profiles: structural validation and invariants).
"""

from __future__ import annotations

import re
from typing import Any

from yteso.fhir import definitions
from yteso.fhirpath.context import Collection, Environment, ProfileCheck, single, string_input
from yteso.fhirpath.errors import FhirPathEvaluationError
from yteso.fhirpath.narrative import html_checks_pass
from yteso.fhirpath.nodes import TypeSpecifier
from yteso.fhirpath.registry import function
from yteso.fhirpath.values import Node, resource_node, to_system


@function("extension", "v")
def extension(items: Collection, env: Environment, url: Collection) -> Collection:
    wanted = string_input(url, "extension()")
    if wanted is None:
        return []
    out: Collection = []
    for item in items:
        if type(item) is not Node:
            continue
        holder = item.data if isinstance(item.data, dict) else item.element
        if not isinstance(holder, dict):
            continue
        entries = holder.get("extension")
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and entry.get("url") == wanted:
                out.append(Node(entry, "Extension"))
    return out


@function("hasValue")
def has_value(items: Collection, env: Environment) -> Collection:
    item = single(items, "hasValue()") if len(items) <= 1 else None
    if item is None:
        return [False]
    if type(item) is Node:
        return [item.data is not None and not isinstance(item.data, (dict, list))]
    return [True]


@function("getValue")
def get_value(items: Collection, env: Environment) -> Collection:
    item = single(items, "getValue()")
    if type(item) is not Node or isinstance(item.data, (dict, list)) or item.data is None:
        return []
    return [to_system(item)]


def _reference_of(item: Any) -> str | None:
    if type(item) is Node and isinstance(item.data, dict):
        reference = item.data.get("reference")
        return reference if isinstance(reference, str) else None
    value = to_system(item)
    return value if isinstance(value, str) else None


def _in_resource(container: Any, reference: str) -> dict[str, Any] | None:
    if not isinstance(container, dict):
        return None
    if reference.startswith("#"):
        for contained in container.get("contained") or ():
            if isinstance(contained, dict) and contained.get("id") == reference[1:]:
                return contained
        return None
    for entry in container.get("entry") or () if container.get("resourceType") == "Bundle" else ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        local = f"{resource.get('resourceType')}/{resource.get('id')}"
        if entry.get("fullUrl") == reference or reference in (local, local.split("/_history")[0]):
            return resource
        if reference.endswith("/" + local):
            return resource
    return None


@function("resolve")
def resolve(items: Collection, env: Environment) -> Collection:
    roots = [item.data for item in env.resource + env.root_resource if type(item) is Node]
    out: Collection = []
    for item in items:
        reference = _reference_of(item)
        if reference is None:
            continue
        found = next((r for r in map(lambda c: _in_resource(c, reference), roots) if r), None)
        if found is None and env.services.resolver is not None:
            found = env.services.resolver(reference)
        if found is not None:
            out.append(resource_node(found))
    return out


def _codings(item: Any) -> list[tuple[str | None, str]]:
    if type(item) is Node and isinstance(item.data, dict):
        if "coding" in item.data:
            return [pair for c in item.data["coding"] or () for pair in _codings(Node(c, None))]
        code = item.data.get("code")
        return [(item.data.get("system"), code)] if isinstance(code, str) else []
    value = to_system(item)
    return [(None, value)] if isinstance(value, str) else []


def _member(system: str | None, code: str, value_set: str, env: Environment) -> bool | None:
    if env.services.terminology is not None:
        return env.services.terminology(system, code, value_set)
    concepts = definitions.value_set_concepts(value_set)
    if concepts is None:
        return None
    if system is None:
        return any(code in codes for codes in concepts.values())
    return code in concepts.get(system, frozenset())


@function("memberOf", "v")
def member_of(items: Collection, env: Environment, value_set: Collection) -> Collection:
    url = string_input(value_set, "memberOf()")
    item = single(items, "memberOf()")
    if url is None or item is None:
        return []
    answers = [_member(system, code, url, env) for system, code in _codings(item)]
    if any(answer is True for answer in answers):
        return [True]
    return [] if not answers or None in answers else [False]


def _profile_check(env: Environment) -> ProfileCheck:
    if env.services.profiles is not None:
        return env.services.profiles
    # imported on first use: the core check runs the invariants, whose compiled expressions
    # need this module registered first
    from yteso.fhirpath.profiles import conforms_to_core_profile

    return conforms_to_core_profile


@function("conformsTo", "v")
def conforms_to(items: Collection, env: Environment, profile: Collection) -> Collection:
    url = string_input(profile, "conformsTo()")
    item = single(items, "conformsTo()")
    if url is None or item is None:
        return []
    # a System value (a literal, a computed string) has no FHIR type, so conforms to nothing
    node = item if type(item) is Node else Node(None, None)
    answer = _profile_check(env)(node, url)
    if answer is None:
        raise FhirPathEvaluationError(f"conformsTo(): unknown profile {url}")
    return [answer]


@function("checkModifiers", "v", required=0)
def check_modifiers(
    items: Collection, env: Environment, modifiers: Collection | None = None
) -> Collection:
    """The input when none of its items carries a modifier extension other than the URLs given
    (strings, each possibly comma-separated); an error otherwise: an unknown modifier changes
    the meaning of its element, so nothing may be read from it."""
    allowed: set[str] = set()
    for value in modifiers or ():
        text = to_system(value)
        if not isinstance(text, str):
            raise FhirPathEvaluationError("checkModifiers() takes strings (extension URLs)")
        allowed.update(url.strip() for url in text.split(","))
    for item in items:
        holder = item.data if type(item) is Node and isinstance(item.data, dict) else None
        entries = holder.get("modifierExtension") if holder is not None else None
        for entry in entries if isinstance(entries, list) else ():
            url = entry.get("url") if isinstance(entry, dict) else None
            if url not in allowed:
                raise FhirPathEvaluationError(f"checkModifiers(): unknown modifier extension {url}")
    return items


@function("htmlChecks")
def html_checks(items: Collection, env: Environment) -> Collection:
    text = to_system(single(items, "htmlChecks()"))
    if not isinstance(text, str):
        return []
    return [html_checks_pass(text)]


@function("getResourceKey")
def get_resource_key(items: Collection, env: Environment) -> Collection:
    """SQL-on-FHIR: the key of a resource (its id)."""
    keys: Collection = []
    for item in items:
        if type(item) is Node and isinstance(item.data, dict):
            key = item.data.get("id")
            if isinstance(key, str):
                keys.append(key)
    return keys


_REFERENCE = re.compile(r"(?:.*/)?([A-Za-z]+)/([^/]+?)(?:/_history/[^/]+)?")


@function("getReferenceKey", "t", required=0)
def get_reference_key(
    items: Collection, env: Environment, resource_type: TypeSpecifier | None = None
) -> Collection:
    """SQL-on-FHIR: the key (id) a Reference points to, optionally only for one type."""
    keys: Collection = []
    for item in items:
        reference = _reference_of(item) if type(item) is Node else None
        match = _REFERENCE.fullmatch(reference or "")
        if match is None:
            continue
        if resource_type is None or match.group(1) == resource_type.name:
            keys.append(match.group(2))
    return keys
