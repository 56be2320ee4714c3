"""``conformsTo()`` against the core profiles: structural validation plus the R4 invariants.

https://hl7.org/fhir/R4/fhirpath.html#functions: ``conformsTo(structure)`` is true when the
element conforms to the StructureDefinition, and an unknown profile is an error. The core
profile of a type (``http://hl7.org/fhir/StructureDefinition/Patient``) is the type itself: an
element conforms when its type is that type or specialises it (a Patient conforms to
``DomainResource``), it passes ``yteso.fhir.validation`` as an element of its own type (required
bindings, cardinalities, formats: a Patient with gender ``nonsense`` does not), and no invariant
of it fails with an error (``pat-1``). Other profiles come from an injected
``Services(profiles=...)``, which replaces this check (and may call it for core profiles).
"""

from __future__ import annotations

from yteso.fhir.validation import has_errors, validate_element
from yteso.fhirpath import model
from yteso.fhirpath.invariants import check_element_invariants
from yteso.fhirpath.values import Node

CORE_PROFILE = "http://hl7.org/fhir/StructureDefinition/"


def core_profile_type(url: str) -> str | None:
    """The type a core profile URL names (``...StructureDefinition/Patient`` -> ``Patient``;
    a ``|version`` suffix is ignored), or None when the URL is no core profile."""
    if not url.startswith(CORE_PROFILE):
        return None
    name = url.removeprefix(CORE_PROFILE).split("|", 1)[0]
    return name if model.is_known_type(name) else None


def conforms_to_core_profile(item: Node, url: str) -> bool | None:
    """Whether ``item`` conforms to the core profile ``url``; None when ``url`` is not one."""
    profile_type = core_profile_type(url)
    if profile_type is None:
        return None
    actual = item.type
    if actual is None or not model.is_subtype(actual, profile_type):
        return False
    if item.data is None:  # a primitive with only extensions (``_birthDate``): nothing to check
        return True
    issues = validate_element(item.data, actual)
    if has_errors(issues):
        return False
    return not has_errors(check_element_invariants(item.data, actual))
