"""Checks the platform runs only when asked (see ``options.py``), mirroring Java validator settings.

- example URLs (``example.org``, ``example.com``, ``example.net`` and their subdomains) in uri,
  url, canonical and reference values: https://hl7.org/fhir/R4/resource.html (examples are for
  documentation, not exchange);
- security checks: HTML-looking tags in plain strings (https://hl7.org/fhir/R4/security.html#
  narrative: injection through strings that a receiver may render);
- HTML in markdown (https://hl7.org/fhir/R4/datatypes.html#markdown, FHIR-38714);
- experimental content (``experimental: true`` on a canonical resource, where the receiver
  accepts production content only: https://hl7.org/fhir/R4/resource.html#canonical);
- local reference resolution: a relative reference inside a Parameters resource must name one of
  its resources (https://hl7.org/fhir/R4/references.html#literal, no server to ask).

These walk the resource a second time with the compiled specs; the default path never runs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from yteso.fhir.errors import Issue
from yteso.fhir.validation.options import ValidationOptions
from yteso.fhir.validation.specs import (
    PRIMITIVE,
    RESOURCE,
    ComplexSpec,
    Field,
    element_spec,
    spec_for,
)

_EXAMPLE_URL = re.compile(r"[a-z][a-z0-9+.\-]*://([^/:?#]*\.)?example\.(org|com|net)([/:?#]|$)")
_URL_TYPES = frozenset({"uri", "url", "canonical"})
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>")
_MARKDOWN_TAG = re.compile(r"<[A-Za-z/]")
_RELATIVE = re.compile(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/.*)?")

Visit = tuple[Field, Any, str]


def optional_issues(resource: dict[str, Any], options: ValidationOptions) -> list[Issue]:
    """The issues of the optional checks ``options`` turns on (none by default)."""
    checks = []
    if not options.example_urls_allowed:
        checks.append(_example_url)
    if options.security_checks:
        checks.append(_html_in_string)
    if options.no_html_in_markdown:
        checks.append(_html_in_markdown)
    if not options.experimental_allowed:
        checks.append(_experimental)
    issues: list[Issue] = []
    if checks:
        for field, value, path in walk_resource(resource, resource.get("resourceType", "")):
            for check in checks:
                message = check(field, value)
                if message is not None:
                    issues.append(Issue("error", "invalid", message, (path,)))
    if options.resolve_local_references and resource.get("resourceType") == "Parameters":
        issues.extend(_unresolved_in_parameters(resource))
    return issues


def walk_resource(obj: dict[str, Any], path: str, depth: int = 0) -> Iterator[Visit]:
    """Every (field, value, path) below a resource, resources inside it included."""
    resource_type = obj.get("resourceType")
    spec = spec_for(resource_type) if type(resource_type) is str else None
    if spec is not None and depth < 32:
        yield from _walk_object(obj, spec, path, depth)


def _walk_object(obj: dict[str, Any], spec: ComplexSpec, path: str, depth: int) -> Iterator[Visit]:
    for key, value in obj.items():
        field = spec.fields.get(key)
        if field is None:
            if key[:1] == "_" and key[1:] in spec.fields:  # a primitive's id and extensions
                for item, where in _items(value, f"{path}.{key}"):
                    if type(item) is dict:
                        yield from _walk_object(item, element_spec(), where, depth + 1)
            continue
        for item, where in _items(value, f"{path}.{field.segment}"):
            yield field, item, where
            if type(item) is not dict:
                continue
            if field.kind == RESOURCE:
                yield from walk_resource(item, where, depth + 1)
            elif field.kind != PRIMITIVE and field.spec is not None:
                yield from _walk_object(item, field.spec, where, depth + 1)


def _items(value: object, path: str) -> list[tuple[object, str]]:
    if type(value) is list:
        return [(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return [(value, path)]


def _example_url(field: Field, value: object) -> str | None:
    if type(value) is not str:
        return None
    if field.type_code in _URL_TYPES or "Reference.reference" in field.contexts:
        if _EXAMPLE_URL.match(value):
            return f"example URLs are not allowed in this context ({value})"
    return None


def _html_in_string(field: Field, value: object) -> str | None:
    if field.type_code == "string" and type(value) is str and _HTML_TAG.search(value):
        return (
            "the string value contains text that looks like embedded HTML tags, which are not "
            "allowed for security reasons in this context"
        )
    return None


def _html_in_markdown(field: Field, value: object) -> str | None:
    if field.type_code != "markdown" or type(value) is not str:
        return None
    tag = _MARKDOWN_TAG.search(value)
    if tag is None:
        return None
    start = value[tag.start() : tag.start() + 2]
    return f"the markdown contains content that appears to be an embedded HTML tag ({start!r})"


def _experimental(field: Field, value: object) -> str | None:
    if field.key == "experimental" and value is True:
        return "experimental content is not allowed in this context"
    return None


def _unresolved_in_parameters(parameters: dict[str, Any]) -> list[Issue]:
    present: set[tuple[str, str]] = set()
    resources: list[tuple[dict[str, Any], str]] = []
    for index, parameter in enumerate(parameters.get("parameter") or []):
        resource = parameter.get("resource") if type(parameter) is dict else None
        if type(resource) is dict:
            present.add((str(resource.get("resourceType")), str(resource.get("id"))))
            resources.append((resource, f"Parameters.parameter[{index}].resource"))
    issues: list[Issue] = []
    for resource, path in resources:
        for field, value, where in walk_resource(resource, path):
            if field.type_code != "Reference" or type(value) is not dict:
                continue
            reference = value.get("reference")
            relative = _RELATIVE.fullmatch(reference) if type(reference) is str else None
            if relative is not None and (relative.group(1), relative.group(2)) not in present:
                message = f"unable to resolve resource with reference {reference!r}"
                issues.append(Issue("error", "structure", message, (where,)))
    return issues


__all__ = ["optional_issues", "walk_resource"]
