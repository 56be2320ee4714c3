"""Planning batch and transaction Bundles: entry order, new identities, reference rewriting.

https://hl7.org/fhir/R4/http.html#transaction — entries are processed DELETE, then POST, then
PUT/PATCH, then GET/HEAD; ``urn:uuid:``/``urn:oid:`` (and other) fullUrls of created resources
become ``Type/newid`` and every reference to them in the Bundle is rewritten
(https://hl7.org/fhir/R4/bundle.html#references). Pure: no I/O; ids come from ``new_id``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from yteso.fhir.errors import Invalid, Issue
from yteso.fhir.types import Json

PROCESSING_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
BUNDLE_KINDS = {"transaction": "transaction-response", "batch": "batch-response"}
# Links in a narrative that point at a Bundle entry (https://hl7.org/fhir/R4/bundle.html#references)
_NARRATIVE_LINK = re.compile(r"""\b(href|src)=(["'])([^"']*)\2""")


@dataclass(frozen=True)
class PlannedEntry:
    """One Bundle entry's request, as read from the Bundle."""

    index: int  # position in the request Bundle (responses keep this order)
    method: str
    url: str
    full_url: str | None = None
    resource: Json | None = None
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None
    if_none_exist: str | None = None

    @property
    def path(self) -> str:
        return self.url.split("?", 1)[0].strip("/")

    @property
    def is_conditional(self) -> bool:
        return "?" in self.url


def _entry_error(index: int, message: str, field: str = "") -> Invalid:
    where = f"Bundle.entry[{index}]" + (f".{field}" if field else "")
    return Invalid(message, expression=where)


def _optional_text(request: Json, key: str, index: int) -> str | None:
    value = request.get(key)
    if value is not None and not isinstance(value, str):
        raise _entry_error(index, f"{key} must be a string", f"request.{key}")
    return value


def _planned_entry(index: int, entry: Any) -> PlannedEntry:
    if not isinstance(entry, dict):
        raise _entry_error(index, "A Bundle entry must be an object")
    request = entry.get("request")
    if not isinstance(request, dict):
        raise _entry_error(
            index, "Every entry of a batch or transaction needs a request", "request"
        )
    method = request.get("method")
    if not isinstance(method, str) or method not in PROCESSING_ORDER:
        raise _entry_error(index, f"Unsupported request.method {method!r}", "request.method")
    url = request.get("url")
    if not isinstance(url, str) or not url.strip():
        raise _entry_error(index, "request.url is required", "request.url")
    resource = entry.get("resource")
    if resource is not None and not isinstance(resource, dict):
        raise _entry_error(index, "resource must be an object", "resource")
    if method in ("POST", "PUT") and resource is None:
        raise _entry_error(index, f"A {method} entry needs a resource", "resource")
    full_url = entry.get("fullUrl")
    if full_url is not None and not isinstance(full_url, str):
        raise _entry_error(index, "fullUrl must be a string", "fullUrl")
    return PlannedEntry(
        index=index,
        method=method,
        url=url.strip(),
        full_url=full_url,
        resource=resource,
        if_match=_optional_text(request, "ifMatch", index),
        if_none_match=_optional_text(request, "ifNoneMatch", index),
        if_modified_since=_optional_text(request, "ifModifiedSince", index),
        if_none_exist=_optional_text(request, "ifNoneExist", index),
    )


def read_entries(bundle: Json) -> tuple[str, list[PlannedEntry]]:
    """The Bundle's kind (``batch``/``transaction``) and its entries; raises Invalid."""
    if bundle.get("resourceType") != "Bundle":
        raise Invalid("Expected a Bundle", expression="Bundle")
    kind = bundle.get("type")
    if kind not in BUNDLE_KINDS:
        raise Invalid(
            f"Bundle.type must be batch or transaction, not {kind!r}", expression="Bundle.type"
        )
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise Invalid("Bundle.entry must be an array", expression="Bundle.entry")
    return str(kind), [_planned_entry(i, entry) for i, entry in enumerate(entries)]


def processing_order(entries: Iterable[PlannedEntry]) -> list[PlannedEntry]:
    """DELETE, POST, PUT/PATCH, GET/HEAD. Within DELETE and PUT/PATCH, by target URL: concurrent
    transactions then lock the resources they share in the same order and cannot deadlock on
    them (the outcome of a transaction does not depend on the order of its entries)."""
    return sorted(entries, key=_processing_key)


def _processing_key(entry: PlannedEntry) -> tuple[int, str]:
    locks = entry.method in ("DELETE", "PUT", "PATCH")
    return PROCESSING_ORDER[entry.method], entry.url if locks else ""


def check_duplicates(entries: Iterable[PlannedEntry]) -> None:
    """A transaction may not name one resource twice (same fullUrl, or the same Type/id written)."""
    issues: list[Issue] = []
    full_urls: dict[str, int] = {}
    targets: dict[str, int] = {}
    for entry in entries:
        if entry.full_url and entry.resource is not None:
            first = full_urls.setdefault(entry.full_url, entry.index)
            if first != entry.index:
                issues.append(_duplicate(entry.index, "fullUrl", entry.full_url, first))
        if entry.method in ("PUT", "DELETE", "PATCH") and not entry.is_conditional:
            first = targets.setdefault(entry.path, entry.index)
            if first != entry.index:
                issues.append(_duplicate(entry.index, "request.url", entry.path, first))
    if issues:
        raise Invalid(issues=issues)


def _duplicate(index: int, field: str, value: str, first: int) -> Issue:
    message = f"{value} appears in entry {first} and entry {index}: duplicate resources"
    return Issue("error", "duplicate", message, (f"Bundle.entry[{index}].{field}",))


def assign_identities(
    entries: Iterable[PlannedEntry], new_id: Callable[[], str] = lambda: str(uuid.uuid4())
) -> dict[str, str]:
    """fullUrl → ``Type/id`` for what the Bundle links to: new ids for POSTs whose fullUrl is
    referenced somewhere (the others keep the store's own id, assigned at write time, which
    spares a lookup), and the URL's id for plain PUTs."""
    entries = list(entries)
    references: set[str] = set()
    for entry in entries:
        _collect_links(entry.resource, references)
    mapping: dict[str, str] = {}
    for entry in entries:
        if not entry.full_url or entry.resource is None:
            continue
        resource_type = str(entry.resource.get("resourceType", ""))
        if entry.method == "POST":
            url = entry.full_url
            if url in references:
                mapping[url] = f"{resource_type}/{new_id()}"
        elif entry.method == "PUT" and not entry.is_conditional:
            mapping[entry.full_url] = entry.path
    return mapping


def _collect_links(value: Any, references: set[str]) -> None:
    """Add every ``reference`` and every narrative ``href``/``src`` target in ``value``.

    Runs twice per transaction entry (identities, conditional references), so an object's
    leaves are checked in the loop and only containers are stacked (most values are strings):
    about half the cost of stacking every value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                kind = type(child)
                if kind is str or (kind is not dict and isinstance(child, str)):
                    if key == "reference":
                        references.add(child)
                    elif key == "div":
                        references.update(m.group(3) for m in _NARRATIVE_LINK.finditer(child))
                elif kind is dict or kind is list or isinstance(child, dict | list):
                    stack.append(child)


def rewrite_references(value: Any, mapping: Mapping[str, str]) -> Any:
    """A copy of ``value`` with every ``reference`` found in ``mapping`` replaced, and the
    narrative's ``href``/``src`` links too (https://hl7.org/fhir/R4/bundle.html#references)."""
    if isinstance(value, list):
        return [item if type(item) is str else rewrite_references(item, mapping) for item in value]
    if not isinstance(value, dict):
        return value
    out: Json = {}
    for key, item in value.items():
        kind = type(item)
        if kind is str or (kind is not dict and kind is not list and isinstance(item, str)):
            if key == "reference":
                out[key] = mapping.get(item, item)
            elif key == "div" and mapping:
                out[key] = _NARRATIVE_LINK.sub(lambda m: _relinked(m, mapping), item)
            else:
                out[key] = item
        elif kind is bool or kind is int or kind is float:  # leaves: no call for them
            out[key] = item
        else:
            out[key] = rewrite_references(item, mapping)
    return out


def _relinked(match: re.Match[str], mapping: Mapping[str, str]) -> str:
    attribute, quote, target = match.groups()
    return f"{attribute}={quote}{mapping.get(target, target)}{quote}"


def conditional_references(value: Any) -> set[str]:
    """Every ``Type?query`` reference in ``value`` (resolved by search before writing)."""
    references: set[str] = set()
    _collect_links(value, references)
    return {reference for reference in references if _is_conditional(reference)}


def _is_conditional(reference: str) -> bool:
    head, sep, _ = reference.partition("?")
    return bool(sep) and "/" not in head and ":" not in head and head[:1].isupper()


__all__ = [
    "BUNDLE_KINDS",
    "PROCESSING_ORDER",
    "PlannedEntry",
    "assign_identities",
    "check_duplicates",
    "conditional_references",
    "processing_order",
    "read_entries",
    "rewrite_references",
]
