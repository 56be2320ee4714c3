"""Frozen records of the FHIR R4 definitions: types, elements, invariants, search parameters.

https://hl7.org/fhir/R4/elementdefinition.html and https://hl7.org/fhir/R4/searchparameter.html
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Constraint:
    """An invariant (ElementDefinition.constraint) for the FHIRPath engine to evaluate."""

    key: str
    severity: str  # error | warning
    human: str
    expression: str | None
    source: str | None  # the StructureDefinition that declared it, when inherited


@dataclass(frozen=True, slots=True)
class Binding:
    strength: str  # required | extensible | preferred | example
    value_set: str  # canonical URL, possibly with a ``|version`` suffix


@dataclass(frozen=True, slots=True)
class ElementType:
    code: str  # a FHIR type name: ``string``, ``Reference``, ``HumanName``, ``BackboneElement``
    target_profiles: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    system_type: str | None = None  # ``System.String`` for ids and primitive values

    @property
    def target_types(self) -> tuple[str, ...]:
        """Type names a Reference/canonical may point to (``Resource`` means any)."""
        return tuple(url.rsplit("/", 1)[-1] for url in self.target_profiles)


@dataclass(frozen=True, slots=True)
class ElementDefinition:
    path: str  # ``Observation.component.code``, ``Observation.value[x]``
    min: int
    max: str  # ``"0"``, ``"1"``, ``"*"`` or a number
    types: tuple[ElementType, ...]
    content_reference: str | None  # ``#Questionnaire.item`` for recursive elements
    is_summary: bool
    is_modifier: bool
    binding: Binding | None
    constraints: tuple[Constraint, ...]

    @property
    def name(self) -> str:
        """The last path segment without ``[x]``: ``value`` for ``Observation.value[x]``."""
        return self.path.rsplit(".", 1)[-1].removesuffix("[x]")

    @property
    def is_choice(self) -> bool:
        return self.path.endswith("[x]")

    @property
    def is_array(self) -> bool:
        """Repeats in JSON: max is ``*`` or greater than one."""
        return self.max == "*" or (self.max.isdigit() and int(self.max) > 1)

    @property
    def max_count(self) -> int | None:
        """Upper bound as a number, or None for ``*``."""
        return None if self.max == "*" else int(self.max)


@dataclass(frozen=True, slots=True)
class TypeDefinition:
    name: str  # ``Patient``, ``HumanName``, ``date``, ``SimpleQuantity``
    type: str  # the type constrained (``Quantity`` for ``SimpleQuantity``), else ``name``
    url: str
    kind: str  # primitive-type | complex-type | resource | logical
    abstract: bool
    derivation: str  # specialization | constraint
    base: str | None  # base type name (``DomainResource``, ``Element``)
    constraints: tuple[Constraint, ...]  # invariants on the root element
    elements: tuple[ElementDefinition, ...]  # snapshot order, root excluded
    regex: str | None  # primitives: the spec's regex for the JSON value
    system_type: str | None  # primitives: ``System.Date``, ``System.String``...

    @property
    def is_primitive(self) -> bool:
        return self.kind == "primitive-type"

    @property
    def is_resource(self) -> bool:
        return self.kind == "resource"


@dataclass(frozen=True, slots=True)
class ExtensionPart:
    """A sub-extension of a complex extension (``ombCategory`` of US Core race)."""

    url: str  # relative name (``ombCategory``) or absolute URL
    max: str
    value_types: tuple[str, ...] | None  # None: no value (it has sub-extensions itself)


@dataclass(frozen=True, slots=True)
class ExtensionDefinition:
    """A core extension (https://hl7.org/fhir/R4/extensibility.html#Extension): where it may
    be used (``contexts``: type names or element paths), how often, and its value types."""

    url: str
    contexts: tuple[str, ...]  # ``Patient``, ``HumanName.family``, ``Element`` (anywhere)
    max: str  # how often per element: ``1`` or ``*``
    is_modifier: bool
    value_types: tuple[str, ...] | None  # None: a complex extension (value prohibited)
    parts: tuple[ExtensionPart, ...]


@dataclass(frozen=True, slots=True)
class SearchParameterComponent:
    definition: str
    expression: str


@dataclass(frozen=True, slots=True)
class SearchParameterDefinition:
    url: str
    code: str  # what appears in the query string: ``birthdate``, ``_id``
    name: str
    base: tuple[str, ...]  # every base type of the official definition
    type: str  # number | date | string | token | reference | composite | quantity | uri | special
    expression: str | None  # the part of the union for the resource type asked about
    full_expression: str | None  # the official expression verbatim
    target: tuple[str, ...]
    multiple_or: bool | None
    multiple_and: bool | None
    comparator: tuple[str, ...]
    modifier: tuple[str, ...]
    components: tuple[SearchParameterComponent, ...]
    xpath_usage: str | None


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
]
