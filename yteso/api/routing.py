"""Turn a FHIR URL (relative to the base) and a method into a :class:`FhirRequest` target.

https://hl7.org/fhir/R4/http.html#general — ``[base]/[type]/[id]/_history/[vid]``,
``[base]/[type]/$op``, ``[base]/_history``, ``[base]/metadata``. Bundle entry
``request.url`` values go through the same parser.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

from yteso.api.exchange import FhirRequest
from yteso.fhir.errors import Invalid, NotFound

ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")
TYPE_PATTERN = re.compile(r"[A-Z][A-Za-z]{1,63}")


def parse_query(query: str) -> tuple[tuple[str, str], ...]:
    return tuple(parse_qsl(query, keep_blank_values=True))


def relative_path(url: str, base_url: str) -> tuple[str, str]:
    """An entry URL (relative, or absolute under our base) → (path, query)."""
    if url.startswith(base_url + "/") or url == base_url:
        url = url[len(base_url) :]
    elif "://" in url:
        raise Invalid(f"URL {url!r} is not under this server's base {base_url}")
    parts = urlsplit(url)
    return parts.path, parts.query


def _check_id(value: str, what: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise Invalid(f"{what} {value!r} is not a valid FHIR id")
    return value


def _check_type(value: str, resource_types: frozenset[str]) -> str:
    if value not in resource_types:
        raise NotFound(f"Unknown resource type {value!r}")
    return value


def parse_target(method: str, path: str, query: str, resource_types: frozenset[str]) -> FhirRequest:
    """Parse ``/Patient/1/_history/2?x=y`` into the target fields of a request."""
    segments = [unquote(s) for s in path.strip("/").split("/") if s]
    params = parse_query(query)
    method = method.upper()
    if not segments:
        return FhirRequest(method, params=params)
    head = segments[0]
    if head in ("metadata", "_history") or head.startswith("$"):
        if len(segments) > 1:
            raise NotFound(f"No such endpoint: /{path.strip('/')}")
        return FhirRequest(method, operation=head, params=params)
    resource_type = _check_type(head, resource_types)
    rest = segments[1:]
    if not rest:
        return FhirRequest(method, resource_type, params=params)
    if rest[0] in ("_search", "_history") or rest[0].startswith("$"):
        if len(rest) > 1:
            raise NotFound(f"No such endpoint: /{path.strip('/')}")
        return FhirRequest(method, resource_type, operation=rest[0], params=params)
    id = _check_id(rest[0], "Resource id")
    if len(rest) == 2 and rest[1] in resource_types and method == "GET":
        # Compartment search (https://hl7.org/fhir/R4/compartmentdefinition.html): a type
        # search restricted to the resources linked to this one.
        compartment = (("_compartment", f"{resource_type}/{id}"),)
        return FhirRequest(method, rest[1], params=compartment + params)
    return _instance_target(method, resource_type, id, rest[1:], params, path)


def _instance_target(
    method: str,
    resource_type: str,
    id: str,
    rest: list[str],
    params: tuple[tuple[str, str], ...],
    path: str,
) -> FhirRequest:
    if not rest:
        return FhirRequest(method, resource_type, id, params=params)
    if rest[0].startswith("$") and len(rest) == 1:
        return FhirRequest(method, resource_type, id, operation=rest[0], params=params)
    if rest[0] == "_history" and len(rest) <= 2:
        if len(rest) == 1:
            return FhirRequest(method, resource_type, id, operation="_history", params=params)
        version = rest[1]
        if not version.isdigit() or len(version) > 18:
            raise NotFound(f"Version {version!r} of {resource_type}/{id} does not exist")
        return FhirRequest(method, resource_type, id, version=version, params=params)
    raise NotFound(f"No such endpoint: /{path.strip('/')}")


__all__ = ["ID_PATTERN", "TYPE_PATTERN", "parse_query", "parse_target", "relative_path"]
