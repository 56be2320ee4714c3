"""Lazy, cached loading of the generated definition files in ``data/``.

The files are made by ``scripts/generate_definitions.py``; each is read once on first use and
records are built per type on demand, so a lookup after the first is a dict hit.
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from importlib import resources
from typing import Any

import orjson

from yteso.fhir.definitions.models import (
    Binding,
    Constraint,
    ElementDefinition,
    ElementType,
    ExtensionDefinition,
    ExtensionPart,
    SearchParameterComponent,
    SearchParameterDefinition,
    TypeDefinition,
)


@cache
def _load(name: str) -> Any:
    data = resources.files("yteso.fhir.definitions").joinpath("data", name).read_bytes()
    return orjson.loads(gzip.decompress(data))


@cache
def _constraints() -> tuple[Constraint, ...]:
    return tuple(
        Constraint(
            key=row["key"],
            severity=row["severity"],
            human=row["human"],
            expression=row.get("expression"),
            source=row.get("source"),
        )
        for row in _load("types.json.gz")["constraints"]
    )


def _raw_types() -> dict[str, Any]:
    types: dict[str, Any] = _load("types.json.gz")["types"]
    return types


def _element_type(raw: dict[str, Any]) -> ElementType:
    return ElementType(
        code=raw["code"],
        target_profiles=tuple(raw.get("targetProfile", ())),
        profiles=tuple(raw.get("profile", ())),
        system_type=raw.get("system"),
    )


def _element(raw: dict[str, Any]) -> ElementDefinition:
    table = _constraints()
    binding = raw.get("binding")
    return ElementDefinition(
        path=raw["path"],
        min=raw["min"],
        max=raw["max"],
        types=tuple(_element_type(t) for t in raw.get("types", ())),
        content_reference=raw.get("contentReference"),
        is_summary=raw.get("summary", False),
        is_modifier=raw.get("modifier", False),
        binding=Binding(binding["strength"], binding["valueSet"]) if binding else None,
        constraints=tuple(table[i] for i in raw.get("constraints", ())),
    )


@cache
def type_definition(name: str) -> TypeDefinition | None:
    """The definition of a type (primitive, complex, resource or constraint profile) by name."""
    raw = _raw_types().get(name)
    if raw is None:
        return None
    table = _constraints()
    return TypeDefinition(
        name=raw["name"],
        type=raw["type"],
        url=raw["url"],
        kind=raw["kind"],
        abstract=raw["abstract"],
        derivation=raw["derivation"],
        base=raw["base"],
        constraints=tuple(table[i] for i in raw["constraints"]),
        elements=tuple(_element(e) for e in raw["elements"]),
        regex=raw.get("regex"),
        system_type=raw.get("system_type"),
    )


@cache
def type_names() -> frozenset[str]:
    """Every defined type name, including abstract ones and constraint profiles."""
    return frozenset(_raw_types())


@cache
def resource_types() -> frozenset[str]:
    """Concrete resource types (``Resource`` and ``DomainResource`` are abstract, not included)."""
    return frozenset(
        name
        for name, raw in _raw_types().items()
        if raw["kind"] == "resource" and not raw["abstract"] and raw["derivation"] != "constraint"
    )


def is_resource_type(name: str) -> bool:
    return name in resource_types()


@cache
def elements_of(type_name: str) -> dict[str, ElementDefinition]:
    """The elements of one type keyed by full path (``Patient.name``, ``Observation.value[x]``)."""
    definition = type_definition(type_name)
    return {e.path: e for e in definition.elements} if definition else {}


@cache
def element(path: str) -> ElementDefinition | None:
    """An element by path, following datatypes and content references where needed.

    ``Patient.name`` is a direct hit; ``Patient.name.given`` descends into HumanName;
    ``Questionnaire.item.item.text`` follows ``#Questionnaire.item``.
    """
    head, _, rest = path.partition(".")
    if not rest:
        return None
    direct = elements_of(head).get(path)
    if direct is not None:
        return direct
    parent_path, _, last = path.rpartition(".")
    parent = element(parent_path)
    if parent is None:
        return None
    if parent.content_reference:
        return element(parent.content_reference.lstrip("#") + "." + last)
    if len(parent.types) == 1 and parent.types[0].code not in ("BackboneElement", "Element"):
        return element(parent.types[0].code + "." + last)
    return None


@cache
def primitive_regex(type_name: str) -> re.Pattern[str] | None:
    """The spec's regex of a primitive type, compiled; match it with ``fullmatch``."""
    definition = type_definition(type_name)
    if definition is None or definition.regex is None:
        return None
    return re.compile(definition.regex)


@cache
def value_set_concepts(url: str) -> dict[str, frozenset[str]] | None:
    """Codes of a required-binding value set by code system, or None if not enumerable.

    ``url`` may carry a ``|version`` suffix. Only value sets bound with ``required`` strength
    somewhere in the core definitions are present.
    """
    raw = _load("value_sets.json.gz").get(url.split("|", 1)[0])
    if raw is None:
        return None
    return {system: frozenset(codes) for system, codes in raw.items()}


@cache
def value_set_codes(url: str) -> frozenset[str] | None:
    """All codes of an enumerable required-binding value set (any system), else None."""
    concepts = value_set_concepts(url)
    if concepts is None:
        return None
    return frozenset().union(*concepts.values())


@cache
def _terminology_urls(kind: str) -> frozenset[str]:
    urls: list[str] = _load("terminology_urls.json.gz")[kind]
    return frozenset(urls)


@cache
def code_system_codes(url: str) -> frozenset[str] | None:
    """The codes of a complete core CodeSystem (FHIR, v2, v3), or None when it is not one.

    Codes of a system that is not case-sensitive come lower-cased: compare ``code.lower()``
    when ``code_system_is_case_sensitive(url)`` is False.
    """
    raw = _load("code_systems.json.gz").get(url.split("|", 1)[0])
    if raw is None:
        return None
    codes: list[str] = raw["codes"]
    return frozenset(codes if raw["caseSensitive"] else (code.lower() for code in codes))


def code_system_is_case_sensitive(url: str) -> bool:
    raw = _load("code_systems.json.gz").get(url.split("|", 1)[0])
    return raw is not None and bool(raw["caseSensitive"])


def is_code_system_url(url: str) -> bool:
    """True for the canonical URL of a CodeSystem defined by the core specification."""
    return url.split("|", 1)[0] in _terminology_urls("code_systems")


def is_value_set_url(url: str) -> bool:
    """True for the canonical URL of a ValueSet defined by the core specification."""
    return url.split("|", 1)[0] in _terminology_urls("value_sets")


@cache
def extension_definition(url: str) -> ExtensionDefinition | None:
    """A core extension definition by canonical URL (a ``|version`` suffix is ignored)."""
    raw = _load("extensions.json.gz").get(url.split("|", 1)[0])
    if raw is None:
        return None
    return ExtensionDefinition(
        url=url.split("|", 1)[0],
        contexts=tuple(raw["contexts"]),
        max=raw["max"],
        is_modifier=raw["modifier"],
        value_types=tuple(raw["types"]) if raw["types"] is not None else None,
        parts=tuple(
            ExtensionPart(
                part_url, part["max"], tuple(part["types"]) if part["types"] is not None else None
            )
            for part_url, part in sorted(raw.get("extensions", {}).items())
        ),
    )


def _search_parameter(raw: dict[str, Any], base: str) -> SearchParameterDefinition:
    return SearchParameterDefinition(
        url=raw["url"],
        code=raw["code"],
        name=raw["name"],
        base=tuple(raw["base"]),
        type=raw["type"],
        expression=raw.get("expressions", {}).get(base, raw.get("expression")),
        full_expression=raw.get("expression"),
        target=tuple(raw.get("target", ())),
        multiple_or=raw.get("multipleOr"),
        multiple_and=raw.get("multipleAnd"),
        comparator=tuple(raw.get("comparator", ())),
        modifier=tuple(raw.get("modifier", ())),
        components=tuple(
            SearchParameterComponent(c["definition"], c["expression"])
            for c in raw.get("component", ())
        ),
        xpath_usage=raw.get("xpathUsage"),
    )


@cache
def _search_parameters_by_base() -> dict[str, dict[str, SearchParameterDefinition]]:
    by_base: dict[str, dict[str, SearchParameterDefinition]] = {}
    for raw in _load("search_parameters.json.gz"):
        for base in raw["base"]:
            by_base.setdefault(base, {})[raw["code"]] = _search_parameter(raw, base)
    return by_base


@cache
def search_parameters(resource_type: str) -> dict[str, SearchParameterDefinition]:
    """Search parameters by code for a resource type, including the Resource/DomainResource ones.

    Each definition's ``expression`` is the part of the official union that applies to this type.
    The returned dict is shared: do not modify it.
    """
    by_base = _search_parameters_by_base()
    out: dict[str, SearchParameterDefinition] = {}
    definition = type_definition(resource_type)
    # Bundle, Binary and Parameters derive from Resource directly, not DomainResource.
    bases = ["Resource", resource_type]
    if definition is not None and definition.base == "DomainResource":
        bases.insert(1, "DomainResource")
    for base in bases:
        out.update(by_base.get(base, {}))
    return out


@cache
def all_search_parameters() -> tuple[SearchParameterDefinition, ...]:
    """Every official search parameter once, with its full expression."""
    return tuple(
        _search_parameter(raw, raw["base"][0]) for raw in _load("search_parameters.json.gz")
    )


@cache
def patient_compartment() -> dict[str, tuple[str, ...]]:
    """Resource type -> the search parameters linking it to a Patient (empty: not in it)."""
    raw: dict[str, list[str]] = _load("compartment_patient.json.gz")
    return {name: tuple(params) for name, params in raw.items()}
