"""FHIR R4 (4.0.1) definitions as typed, lazily loaded, cached lookups.

The data under ``data/`` is generated from the official definitions by
``scripts/generate_definitions.py`` (see ``docs/dev/definitions.md``); the runtime never reads
``../shared``. Everything is loaded on first use and cached; per-type lookups are dict hits.

- ``type_definition(name) -> TypeDefinition | None``: any type (``Patient``, ``HumanName``,
  ``date``, ``SimpleQuantity``) with kind, base, abstract, root invariants, snapshot elements,
  and for primitives the spec's ``regex`` and FHIRPath ``system_type``.
- ``elements_of(type_name) -> dict[str, ElementDefinition]``: one type's elements by full path.
- ``element(path) -> ElementDefinition | None``: ``Patient.name``, ``Observation.value[x]``,
  ``Patient.name.given`` (descends into datatypes), ``Questionnaire.item.item`` (a
  ``content_reference`` to ``#Questionnaire.item``).
- ``resource_types() -> frozenset[str]`` (concrete only), ``is_resource_type(name)``,
  ``type_names()`` (every type, abstract and constraint profiles included).
- ``primitive_regex(type_name) -> re.Pattern[str] | None`` (use ``fullmatch``).
- ``value_set_codes(url) -> frozenset[str] | None`` and ``value_set_concepts(url)`` (codes by
  system) for value sets bound with ``required`` strength; None when not enumerable.
- ``code_system_codes(url) -> frozenset[str] | None`` and ``code_system_is_case_sensitive(url)``:
  the codes of the complete core CodeSystems (FHIR, v2, v3; lower-cased when not case-sensitive).
- ``is_code_system_url(url)`` / ``is_value_set_url(url)``: canonical URLs of the core
  CodeSystems and ValueSets (FHIR, v2, v3).
- ``extension_definition(url) -> ExtensionDefinition | None``: the 393 core extensions
  (``extension-definitions.json``) with contexts, cardinality, value types and sub-extensions.
- ``search_parameters(resource_type) -> dict[str, SearchParameterDefinition]`` by code, with the
  common ``Resource``/``DomainResource`` ones (``_id``, ``_lastUpdated``, ``_tag``...);
  ``expression`` is the part of the official union for that type, ``full_expression`` verbatim.
  ``all_search_parameters()`` lists each official definition once.
- ``patient_compartment() -> dict[str, tuple[str, ...]]``: resource type -> linking params.
"""

from __future__ import annotations

from yteso.fhir.definitions.loader import (
    all_search_parameters,
    code_system_codes,
    code_system_is_case_sensitive,
    element,
    elements_of,
    extension_definition,
    is_code_system_url,
    is_resource_type,
    is_value_set_url,
    patient_compartment,
    primitive_regex,
    resource_types,
    search_parameters,
    type_definition,
    type_names,
    value_set_codes,
    value_set_concepts,
)
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

__all__ = [
    "Binding",
    "Constraint",
    "ElementDefinition",
    "ElementType",
    "ExtensionDefinition",
    "ExtensionPart",
    "SearchParameterComponent",
    "SearchParameterDefinition",
    "TypeDefinition",
    "all_search_parameters",
    "code_system_codes",
    "code_system_is_case_sensitive",
    "element",
    "elements_of",
    "extension_definition",
    "is_code_system_url",
    "is_resource_type",
    "is_value_set_url",
    "patient_compartment",
    "primitive_regex",
    "resource_types",
    "search_parameters",
    "type_definition",
    "type_names",
    "value_set_codes",
    "value_set_concepts",
]
