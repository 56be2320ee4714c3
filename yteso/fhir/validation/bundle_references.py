"""References from a document's Composition or a message's MessageHeader resolve in the Bundle.

https://hl7.org/fhir/R4/bundle.html#references: a relative reference is resolved against the
base of the referring entry's fullUrl (``http://x/fhir/Composition/1`` + ``Patient/2`` ->
``http://x/fhir/Patient/2``); a version-specific one (``.../_history/3``) then matches the
entry's ``meta.versionId``. A document or message carries what its first resource refers to
(https://hl7.org/fhir/R4/documents.html, https://hl7.org/fhir/R4/messaging.html), so a reference
from it that matches no entry, or more than one, is an error. Elsewhere in a document, message,
collection, transaction or batch, a ``urn:`` reference naming no entry is a warning (it cannot
be resolved anywhere else).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from yteso.fhir.errors import Issue
from yteso.fhir.validation.optional_checks import walk_resource

_RESTFUL = re.compile(r"(.*/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_SELF_CONTAINED_TYPES = frozenset({"document", "message"})
# Bundles whose urn: references must name an entry (searchsets and histories list, not link).
_RESOLVING_TYPES = _SELF_CONTAINED_TYPES | {"collection", "transaction", "batch"}


def _base(full_url: str) -> str | None:
    """``http://x/fhir/`` of ``http://x/fhir/Patient/1`` (None for urn: and other forms)."""
    match = _RESTFUL.fullmatch(full_url.split("/_history/", 1)[0])
    if match is None or match.group(1) is None or full_url.startswith("urn:"):
        return None
    return match.group(1)


def _target(reference: str, referrer_url: str) -> tuple[str, str | None] | None:
    """The fullUrl a reference points to and the version it asks for (None: not resolvable
    within a Bundle by these rules, such as a relative reference from a urn: entry)."""
    url, _, version = reference.partition("/_history/")
    if _SCHEME.match(url):
        return url, version or None
    base = _base(referrer_url)
    return (base + url, version or None) if base is not None else None


def _version(resource: dict[str, Any]) -> object:
    meta = resource.get("meta")
    return meta.get("versionId") if type(meta) is dict else None


def check_bundle_references(bundle: dict[str, Any], path: str, issues: list[Issue]) -> None:
    """Resolve the references of a Bundle's entries where the Bundle rules say they resolve."""
    entries = bundle.get("entry")
    bundle_type = bundle.get("type")
    if type(bundle_type) is not str or type(entries) is not list or not entries:
        return
    if bundle_type not in _RESOLVING_TYPES:
        return
    by_url: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        if type(entry) is dict and type(entry.get("fullUrl")) is str:
            found = entry.get("resource")
            key = entry["fullUrl"].split("/_history/", 1)[0]
            by_url.setdefault(key, []).append(found if type(found) is dict else {})
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if type(entry) is dict else None
        if type(resource) is not dict:
            continue
        referrer = entry.get("fullUrl")
        referrer = referrer if type(referrer) is str else ""
        strict = index == 0 and bundle_type in _SELF_CONTAINED_TYPES
        where = f"{path}.entry[{index}].resource"
        for reference, at in _references(resource, where):
            if strict:
                _resolve(reference, referrer, by_url, at, issues)
            elif reference.startswith("urn:") and reference not in by_url:
                message = f"the URN reference {reference!r} is not an entry of this bundle"
                issues.append(Issue("warning", "not-found", message, (at,)))


def _references(resource: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """Literal references below a resource (not ``#`` fragments or conditional ones)."""
    for field, value, where in walk_resource(resource, path):
        if field.type_code == "Reference" and type(value) is dict:
            reference = value.get("reference")
            if (
                type(reference) is str
                and reference
                and reference[0] != "#"
                and "?" not in reference
            ):
                yield reference, f"{where}.reference"


def _resolve(
    reference: str,
    referrer: str,
    by_url: dict[str, list[dict[str, Any]]],
    path: str,
    issues: list[Issue],
) -> None:
    target = _target(reference, referrer)
    if target is None:
        return  # a relative reference from an entry without a RESTful fullUrl: not judged here
    matches = by_url.get(target[0], [])
    if target[1] is not None:
        version = target[1]
        matches = [m for m in matches if _version(m) == version]
    if len(matches) == 1:
        return
    message = (
        f"can't find {reference!r} in the bundle"
        if not matches
        else f"found {len(matches)} matches for {reference!r} in the bundle"
    )
    issues.append(Issue("error", "invalid", message, (path,)))


__all__ = ["check_bundle_references"]
