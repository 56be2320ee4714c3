"""``_summary`` and ``_elements``: subsets of a resource chosen by the definitions.

https://hl7.org/fhir/R4/search.html#summary and https://hl7.org/fhir/R4/search.html#elements —
a subsetted resource is tagged ``SUBSETTED`` (https://hl7.org/fhir/R4/resource.html#tag).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from yteso.fhir.definitions import elements_of
from yteso.fhir.definitions.models import ElementDefinition
from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json

SUMMARY_MODES = ("true", "text", "data", "count", "false")
SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
_ALWAYS = frozenset({"resourceType", "id", "meta"})


def _element_for_key(parent_path: str, key: str) -> ElementDefinition | None:
    """The definition behind a JSON key, resolving ``valueQuantity`` to ``value[x]``."""
    root = parent_path.split(".", 1)[0]
    elements = elements_of(root)
    name = key[1:] if key.startswith("_") else key
    direct = elements.get(f"{parent_path}.{name}")
    if direct is not None:
        return direct
    for element in elements.values():
        if element.is_choice and element.path.startswith(parent_path + "."):
            stem = element.path[len(parent_path) + 1 : -3]
            if "." not in stem and name.startswith(stem) and name[len(stem) :][:1].isupper():
                return element
    return None


def _is_backbone(element: ElementDefinition) -> bool:
    return any(t.code in ("BackboneElement", "Element") for t in element.types) and not any(
        t.code not in ("BackboneElement", "Element") for t in element.types
    )


def _summary_of(value: Any, path: str) -> Any:
    if isinstance(value, list):
        return [_summary_of(item, path) for item in value]
    if not isinstance(value, dict):
        return value
    kept: Json = {}
    for key, item in value.items():
        if key in _ALWAYS or key == "modifierExtension":
            kept[key] = item
            continue
        element = _element_for_key(path, key)
        if element is None or not (element.is_summary or element.is_modifier):
            continue
        child_path = element.path.removesuffix("[x]")
        kept[key] = _summary_of(item, child_path) if _is_backbone(element) else item
    return kept


def _mandatory_keys(resource: Json, resource_type: str) -> set[str]:
    keys = set()
    for key in resource:
        element = _element_for_key(resource_type, key)
        if element is not None and element.min > 0 and element.path.count(".") == 1:
            keys.add(key)
    return keys


def _tag_subsetted(resource: Json) -> Json:
    meta = dict(resource.get("meta") or {})
    tags = [t for t in meta.get("tag", []) if t != SUBSETTED]
    meta["tag"] = [*tags, SUBSETTED]
    return {**resource, "meta": meta}


def summarize(resource: Json, mode: str) -> Json:
    """The resource as ``_summary=mode`` asks (``count`` is the caller's business)."""
    resource_type = str(resource.get("resourceType", ""))
    if mode == "false" or mode == "count":
        return resource
    if mode == "data":
        return _tag_subsetted({k: v for k, v in resource.items() if k != "text"})
    if mode == "text":
        keep = _ALWAYS | {"text"} | _mandatory_keys(resource, resource_type)
        return _tag_subsetted({k: v for k, v in resource.items() if k in keep})
    if mode == "true":
        return _tag_subsetted(_summary_of(resource, resource_type))
    raise Invalid(f"_summary={mode!r}: expected one of {', '.join(SUMMARY_MODES)}")


def select_elements(resource: Json, names: Iterable[str]) -> Json:
    """Keep the top-level ``names`` plus what a resource must carry (``_elements``)."""
    wanted = {name.strip().split(".", 1)[-1] for name in names if name.strip()}
    resource_type = str(resource.get("resourceType", ""))
    keep = _ALWAYS | _mandatory_keys(resource, resource_type)
    kept: Json = {}
    for key, value in resource.items():
        bare = key[1:] if key.startswith("_") else key
        element = _element_for_key(resource_type, key)
        stem = element.name if element is not None else bare
        if key in keep or bare in wanted or stem in wanted:
            kept[key] = value
    return _tag_subsetted(kept)


__all__ = ["SUBSETTED", "SUMMARY_MODES", "select_elements", "summarize"]
