"""Structural rules of particular types beyond their element definitions.

- contained resources (https://hl7.org/fhir/R4/references.html#contained, dom-2/4/5): no
  nested contained, no meta.versionId / meta.lastUpdated / meta.security;
- Bundle (https://hl7.org/fhir/R4/bundle.html): entry.fullUrl absolute and agreeing with the
  resource's type and id, search results with ids and of the searched types (``search.mode``),
  each paging link relation at most once,
  a document's or message's references resolving inside it (``bundle_references.py``);
- Attachment (https://hl7.org/fhir/R4/datatypes.html#Attachment): ``size`` matches ``data``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from yteso.fhir.definitions import is_resource_type
from yteso.fhir.errors import Issue
from yteso.fhir.validation.bundle_references import check_bundle_references

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_REST_TAIL = re.compile(r".*/([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})")
_UNIQUE_LINKS = frozenset({"self", "first", "previous", "prev", "next", "last"})


def _error(issues: list[Issue], code: str, message: str, path: str) -> None:
    issues.append(Issue("error", code, message, (path,)))


def check_contained(resource: dict[str, Any], path: str, issues: list[Issue]) -> None:
    if "contained" in resource:
        _error(
            issues,
            "invariant",
            "dom-2: contained resources SHALL NOT contain nested resources",
            f"{path}.contained",
        )
    meta = resource.get("meta")
    if type(meta) is not dict:
        return
    for key, rule in (("versionId", "dom-4"), ("lastUpdated", "dom-4"), ("security", "dom-5")):
        if key in meta:
            _error(
                issues,
                "invariant",
                f"{rule}: a contained resource SHALL NOT have meta.{key}",
                f"{path}.meta.{key}",
            )


def check_bundle(bundle: dict[str, Any], path: str, issues: list[Issue]) -> None:
    entries = bundle.get("entry")
    searchset = bundle.get("type") == "searchset"
    if type(entries) is list:
        for index, entry in enumerate(entries):
            if type(entry) is dict:
                _check_entry(entry, f"{path}.entry[{index}]", searchset, issues)
    links = bundle.get("link")
    if type(links) is list:
        seen: set[str] = set()
        for index, link in enumerate(links):
            relation = link.get("relation") if type(link) is dict else None
            if type(relation) is not str:
                continue  # a malformed relation is the structure check's to report
            if relation in _UNIQUE_LINKS and relation in seen:
                _error(
                    issues,
                    "invalid",
                    f"the link relation {relation!r} can only occur once",
                    f"{path}.link[{index}]",
                )
            seen.add(relation)
    if searchset and type(entries) is list:
        _check_search_modes(entries, _searched_types(links), path, issues)
    check_bundle_references(bundle, path, issues)


def _searched_types(links: object) -> frozenset[str] | None:
    """The types a searchset's ``self`` link searched (``base/Patient?...`` or ``_type=``)."""
    if type(links) is not list:
        return None
    for link in links:
        if type(link) is dict and link.get("relation") == "self" and type(link.get("url")) is str:
            address, _, query = link["url"].partition("?")
            last = address.rstrip("/").rsplit("/", 1)[-1]
            if is_resource_type(last):
                return frozenset({last})
            for parameter in query.split("&"):
                name, _, value = parameter.partition("=")
                if name == "_type" and value:
                    return frozenset(value.split(","))
            return None
    return None


def _check_search_modes(
    entries: list[Any], searched: frozenset[str] | None, path: str, issues: list[Issue]
) -> None:
    """``search.mode`` says what an entry is (https://hl7.org/fhir/R4/search.html#2.21.1.1):
    an ``outcome`` is an OperationOutcome, a ``match`` is of a searched type."""
    for index, entry in enumerate(entries):
        search = entry.get("search") if type(entry) is dict else None
        resource = entry.get("resource") if type(entry) is dict else None
        if type(search) is not dict or type(resource) is not dict:
            continue
        found = resource.get("resourceType")
        where = f"{path}.entry[{index}].resource"
        if search.get("mode") == "outcome" and found != "OperationOutcome":
            _error(
                issues, "invalid", f"a search outcome must be an OperationOutcome ({found})", where
            )
        elif (
            search.get("mode") == "match"
            and searched is not None
            and (type(found) is not str or found not in searched)
        ):
            expected = ", ".join(sorted(searched))
            message = f"{found} is not a resource type the search asked for ({expected})"
            _error(issues, "invalid", message, where)


def _check_entry(entry: dict[str, Any], path: str, searchset: bool, issues: list[Issue]) -> None:
    resource = entry.get("resource")
    resource = resource if type(resource) is dict else None
    full_url = entry.get("fullUrl")
    if type(full_url) is str and full_url:
        if _SCHEME.match(full_url) is None:
            _error(
                issues,
                "invalid",
                f"fullUrl must be an absolute URL, found {full_url!r}",
                f"{path}.fullUrl",
            )
        elif resource is not None:
            _check_full_url_agrees(full_url, resource, path, issues)
    if searchset and resource is not None and "id" not in resource:
        search = entry.get("search")
        mode = search.get("mode") if type(search) is dict else None
        outcome = resource.get("resourceType") == "OperationOutcome"
        if mode == "match" or (mode is None and not outcome):
            _error(issues, "invalid", "search results must have ids", f"{path}.resource")


def _check_full_url_agrees(
    full_url: str, resource: dict[str, Any], path: str, issues: list[Issue]
) -> None:
    """A RESTful fullUrl (``.../Patient/123``) must end with the resource's type and id."""
    if full_url.startswith("urn:"):
        return
    tail = _REST_TAIL.fullmatch(full_url.split("/_history/", 1)[0])
    if tail is None or not is_resource_type(tail.group(1)):
        return
    if (tail.group(1), tail.group(2)) != (resource.get("resourceType"), resource.get("id")):
        _error(
            issues,
            "invalid",
            f"fullUrl {full_url!r} looks like a RESTful URL but does not "
            "end with the resource's type and id",
            f"{path}.fullUrl",
        )


def check_attachment(value: dict[str, Any], path: str, issues: list[Issue]) -> None:
    data, size = value.get("data"), value.get("size")
    if type(data) is not str or type(size) is not int:
        return
    try:
        actual = len(base64.b64decode("".join(data.split()), validate=True))
    except (binascii.Error, ValueError):
        return  # the base64Binary check already reported it
    if actual != size:
        _error(
            issues,
            "value",
            f"Attachment.size {size} does not match the size of data ({actual} bytes)",
            f"{path}.size",
        )


__all__ = ["check_attachment", "check_bundle", "check_contained"]
