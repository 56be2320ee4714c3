"""Extensions against their definitions: value type, context, cardinality, modifier flag.

https://hl7.org/fhir/R4/extensibility.html and https://hl7.org/fhir/R4/defining-extensions.html.
The 393 core extensions are known (``yteso.fhir.definitions.extension_definition``); an extension
of another implementation guide cannot be checked here and is reported with the severity the
options give (information by default; the Java validator without that guide says error).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from functools import cache
from typing import Any

from yteso.fhir.definitions import ExtensionDefinition, extension_definition
from yteso.fhir.errors import Issue
from yteso.fhir.validation.options import PLATFORM_OPTIONS, ValidationOptions
from yteso.fhir.validation.specs import spec_for, type_contexts

#: The options of the validation running in this thread or task (set by ``validate``).
current_options: ContextVar[ValidationOptions] = ContextVar(
    "validation_options", default=PLATFORM_OPTIONS
)
_ANYWHERE = "Element"  # a context of ``Element`` allows the extension on any element


@cache
def _value_type(key: str) -> str | None:
    """``valueCodeableConcept`` -> ``CodeableConcept``, ``valueUri`` -> ``uri``."""
    extension = spec_for("Extension")
    field = extension.fields.get(key) if extension is not None else None
    return field.type_code if field is not None else None


def _error(issues: list[Issue], message: str, path: str, code: str = "structure") -> None:
    issues.append(Issue("error", code, message, (path,)))


def check_extensions(
    holder: dict[str, Any], contexts: frozenset[str], path: str, issues: list[Issue]
) -> None:
    """Check ``holder``'s ``extension`` and ``modifierExtension`` lists (shape is checked
    by the structural walk; this adds what the definitions say)."""
    for key, modifier in (("extension", False), ("modifierExtension", True)):
        items = holder.get(key)
        if type(items) is list:
            _check_list(items, contexts, modifier, f"{path}.{key}", issues)


def check_sub_extensions(extension: dict[str, Any], path: str, issues: list[Issue]) -> None:
    """A complex extension's parts (``extension`` inside a known extension)."""
    url = extension.get("url")
    items = extension.get("extension")
    if type(url) is not str or type(items) is not list:
        return
    definition = extension_definition(url)
    if definition is None or not definition.parts:
        return
    parts = {part.url: part for part in definition.parts}
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        sub_url = item.get("url") if type(item) is dict else None
        if type(sub_url) is not str:
            continue
        where = f"{path}.extension[{index}]"
        part = parts.get(sub_url)
        if part is None:
            if ":" not in sub_url:
                _error(issues, f"sub-extension {sub_url!r} is not defined by {url}", where)
            continue
        seen[sub_url] = seen.get(sub_url, 0) + 1
        if part.max.isdigit() and seen[sub_url] == int(part.max) + 1:
            _error(issues, f"sub-extension {sub_url!r} of {url} is allowed {part.max}x", where)
        _check_value(item, url, part.value_types, where, issues)


def _check_list(
    items: list[Any], contexts: frozenset[str], modifier: bool, path: str, issues: list[Issue]
) -> None:
    counts: dict[str, int] = {}
    for index, item in enumerate(items):
        url = item.get("url") if type(item) is dict else None
        if type(url) is not str or not url:
            continue  # structural checks report a missing or ill-typed url
        where = f"{path}[{index}]"
        if "|" in url:
            _error(issues, f"the extension URL must not contain a version ({url!r})", where)
            url = url.split("|", 1)[0]
        definition = extension_definition(url)
        if definition is None:
            _unknown(url, where, issues)
            continue
        counts[url] = counts.get(url, 0) + 1
        if counts[url] == 2 and definition.max == "1":
            _error(issues, f"the extension {url} is allowed once here", where)
        _check_known(item, definition, contexts, modifier, where, issues)


def _check_known(
    item: dict[str, Any],
    definition: ExtensionDefinition,
    contexts: frozenset[str],
    modifier: bool,
    path: str,
    issues: list[Issue],
) -> None:
    url = definition.url
    allowed = definition.contexts
    if not any(context == _ANYWHERE or context in contexts for context in allowed):
        here = ", ".join(sorted(c for c in contexts if c not in ("Element", "Base")))
        _error(
            issues,
            f"the extension {url} is not allowed to be used here (this element is [{here}]; "
            f"allowed: {', '.join(allowed)})",
            path,
        )
    if definition.is_modifier != modifier:
        wanted = "modifierExtension" if definition.is_modifier else "extension"
        _error(issues, f"the extension {url} must be given in {wanted}", path)
    _check_value(item, url, definition.value_types, path, issues)


def _check_value(
    item: dict[str, Any],
    url: str,
    value_types: tuple[str, ...] | None,
    path: str,
    issues: list[Issue],
) -> None:
    found = _found_types(item)
    for key, type_code in found:
        if value_types is None:
            _error(issues, f"the extension {url} has sub-extensions, not a value", f"{path}.{key}")
        elif type_code not in value_types:
            _error(
                issues,
                f"the extension {url} definition allows for the types [{', '.join(value_types)}]"
                f" but found type {type_code}",
                f"{path}.{key}",
            )


def _found_types(item: dict[str, Any]) -> Iterable[tuple[str, str]]:
    for key in item:
        if key.startswith("value"):
            type_code = _value_type(key)
            if type_code is not None:
                yield key, type_code


def _unknown(url: str, path: str, issues: list[Issue]) -> None:
    options = current_options.get()
    severity = options.unknown_extension_severity
    if severity == "ignore" or url.startswith(options.allowed_extension_domains):
        return
    issues.append(
        Issue(
            severity,
            "extension",
            f"the extension {url} is not known here, so it cannot be validated",
            (path,),
        )
    )


__all__ = ["check_extensions", "check_sub_extensions", "current_options", "type_contexts"]
