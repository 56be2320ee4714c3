"""The shape of references, and coding systems and codes.

https://hl7.org/fhir/R4/references.html#Reference: ``reference`` is a relative ``Type/id``
(optionally ``/_history/vid``), an absolute URL, a ``#id`` to a contained resource, a
``urn:uuid:`` or ``urn:oid:``, or (in transactions) a conditional ``Type?search``. The type must
be a resource type the element allows (its targetProfiles). A Coding's system is an absolute URI
and not a ValueSet URL; its code, when the system is a complete core CodeSystem, is one that the
system defines.
"""

from __future__ import annotations

import re
from typing import Any, Final

from yteso.fhir.definitions import (
    code_system_codes,
    code_system_is_case_sensitive,
    is_code_system_url,
    is_resource_type,
    is_value_set_url,
)
from yteso.fhir.errors import Issue
from yteso.fhir.validation.primitives import id_shaped

_RELATIVE: Final = re.compile(
    r"([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/([A-Za-z0-9\-.]{1,64}))?"
)
_ABSOLUTE_REST: Final = re.compile(
    r"[a-z][a-z0-9+.\-]*://.*/([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?"
)
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# Relative reference text -> its type, for texts of the relative shape: a patient's resources
# all name it, its encounter and the same practitioners (the match was ~5k instructions).
_RELATIVE_TYPES: Final[dict[str, str]] = {}
_MAX_RELATIVE_TYPES: Final = 16384
# Resource type names is_resource_type() accepted: it is interpreted, and was ~450
# instructions per reference called from here (a set of at most the R4 types).
_KNOWN_TYPES: Final[set[str]] = set()


def _issue(issues: list[Issue], message: str, path: str) -> None:
    issues.append(Issue("error", "value", message, (path,)))


def _check_type(
    type_name: str, targets: frozenset[str] | None, path: str, issues: list[Issue]
) -> None:
    """``path``: the Reference's; the issue names its ``reference`` (built only then)."""
    if type_name not in _KNOWN_TYPES:
        if not is_resource_type(type_name):
            message = f"unknown resource type {type_name!r} in reference"
            _issue(issues, message, path + ".reference")
            return
        _KNOWN_TYPES.add(type_name)
    if targets is not None and type_name not in targets:
        allowed = ", ".join(sorted(targets))
        message = f"a reference to {type_name} is not allowed here (allowed: {allowed})"
        _issue(issues, message, path + ".reference")


def check_reference(
    value: dict[str, Any], targets: frozenset[str] | None, path: str, issues: list[Issue]
) -> None:
    """Check ``Reference.reference`` (its string type is checked before this)."""
    reference = value.get("reference")
    if type(reference) is not str or not reference or reference[0] == "#":
        return
    if reference.startswith("urn:"):
        return  # urn:uuid / urn:oid: resolved within a Bundle, shape not constrained further
    if ":" in reference and _SCHEME.match(reference):  # no colon: no scheme (most are Type/id)
        rest = _ABSOLUTE_REST.fullmatch(reference)
        if rest is not None and is_resource_type(rest.group(1)):
            _check_type(rest.group(1), targets, path, issues)
        return
    if "?" in reference:  # conditional reference, resolved in transactions
        _check_type(reference.partition("?")[0], targets, path, issues)
        return
    type_name = _RELATIVE_TYPES.get(reference)
    if type_name is None:
        type_name = _relative_type(reference)
        if type_name is None:
            message = f"relative references must be [Type]/[id], found {reference!r}"
            _issue(issues, message, path + ".reference")
            return
        if len(_RELATIVE_TYPES) >= _MAX_RELATIVE_TYPES:
            _RELATIVE_TYPES.clear()
        _RELATIVE_TYPES[reference] = type_name
    _check_type(type_name, targets, path, issues)


def _relative_type(reference: str) -> str | None:
    """``_RELATIVE``'s type group, or ``None`` when it does not match. ``Type/id``, the shape
    nearly all are, is told by string methods (~5x cheaper than the regex; its type group holds
    no ``/``, so the text splits at the first one); the rest (``/_history/``, bad texts) by the
    regex."""
    type_name, slash, rest = reference.partition("/")
    if slash and type_name.isascii() and type_name.isalpha() and id_shaped(rest):
        return type_name
    relative = _RELATIVE.fullmatch(reference)
    return None if relative is None else relative.group(1)


def check_coding_system(value: dict[str, Any], path: str, issues: list[Issue]) -> None:
    """``Coding.system`` must be an absolute URI (https://hl7.org/fhir/R4/datatypes.html#Coding)."""
    system = value.get("system")
    if type(system) is not str or not system:
        return
    if _SCHEME.match(system) is None:
        _issue(issues, f"Coding.system must be an absolute URI, found {system!r}", path + ".system")
    elif is_value_set_url(system) and not is_code_system_url(system):
        message = f"Coding.system {system!r} is a ValueSet, not a CodeSystem"
        _issue(issues, message, path + ".system")
    else:
        _check_code(value.get("code"), system, path, issues)


def _check_code(code: object, system: str, path: str, issues: list[Issue]) -> None:
    """A code of a complete core code system must be one it defines
    (https://hl7.org/fhir/R4/terminologies.html#4.1, the CodeSystems of the specification)."""
    if type(code) is not str:
        return
    codes = code_system_codes(system)
    if codes is None or code in codes:
        return
    if not code_system_is_case_sensitive(system) and code.lower() in codes:
        return
    message = f"unknown code {code!r} in the code system {system}"
    issues.append(Issue("error", "code-invalid", message, (path + ".code",)))


__all__ = ["check_coding_system", "check_reference"]
