"""The R4 invariants of each element and type, compiled once into rules and walk plans.

https://hl7.org/fhir/R4/conformance-rules.html#constraints. A :class:`Rule` is one
``ElementDefinition.constraint`` compiled by the FHIRPath engine (with its shortcut where the
JSON shape allows one); a :class:`ChildPlan` says how the walk in :mod:`yteso.fhirpath.invariants`
treats the values of one ``<type>.<json key>``: which rules apply, whether anything below can
have rules, whether the values need looking at at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Final

from yteso.fhir import definitions
from yteso.fhirpath import model
from yteso.fhirpath.engine import CompiledExpression, compile
from yteso.fhirpath.errors import FhirPathError
from yteso.fhirpath.invariant_shortcuts import Shortcut, reference_1, shortcut

# Enforced by yteso.fhir.validation already (txt-1/txt-2: its narrative xhtml check).
STRUCTURAL_KEYS: Final = frozenset({"ele-1", "ext-1", "dom-2", "dom-4", "dom-5", "txt-1", "txt-2"})
RESOURCE_TYPES: Final = frozenset({"Resource", "DomainResource"})


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    severity: str
    human: str
    expression: CompiledExpression
    shortcut: Shortcut | None = None  # a direct verdict from the JSON where its shape allows


# An invariant holds only when it evaluates to true; empty is a failure (conformance-rules.html,
# and the Java validator agrees: per-1 with start and end at different precisions fails). A few
# R4 expressions lean on the Java engine's startsWith()/matches() giving false on no input
# (ref-1 on a display-only Reference, the ``name.matches(...)`` warnings): guard them the way
# later FHIR versions publish them, ``name.exists() implies (...)``.
_GUARDED_START = re.compile(r"^([a-z][A-Za-z]*)\.(?:startsWith|matches)\(")
# ref-1 as R4B/R5 publish it: a contained resource may refer to its container as ``#``
# (references.html#contained; R4's own dom-3 already counts such references).
_REF_1 = (
    "reference.startsWith('#').not() or (reference.substring(1).trace('url') in "
    "%rootResource.contained.id.trace('ids'))"
)
_LATER_FORMS = {_REF_1: _REF_1 + " or (reference = '#' and %rootResource != %resource)"}


@cache
def _compiled(expression: str) -> CompiledExpression | None:
    # R4 invariants predate the normative rule that as() takes a single item, and apply it to
    # collections (dom-3: ``descendants().as(canonical)``): they mean ofType().
    expression = _LATER_FORMS.get(expression, expression).replace(".as(", ".ofType(")
    guarded = _GUARDED_START.match(expression)
    if guarded is not None:
        expression = f"{guarded.group(1)}.exists() implies ({expression})"
    try:
        return compile(expression)
    except FhirPathError:
        return None  # names a type R4 lacks (dom-r4b): cannot hold or fail on R4 content


def compile_rules(
    constraints: tuple[definitions.Constraint, ...], context_type: str | None
) -> tuple[Rule, ...]:
    """The rules of these constraints, the structural keys and uncompilable ones left out."""
    rules: dict[str, Rule] = {}
    for constraint in constraints:
        if constraint.key in STRUCTURAL_KEYS or constraint.key in rules:
            continue
        compiled = _compiled(constraint.expression) if constraint.expression else None
        if compiled is not None:
            found = shortcut(compiled.tree, context_type)
            if (
                found is not None
                and context_type == "Reference"
                and constraint.expression == _REF_1
            ):
                found = reference_1  # the same verdicts in one call (~5 nested ones)
            rules[constraint.key] = Rule(
                constraint.key, constraint.severity, constraint.human, compiled, found
            )
    return tuple(rules.values())


@cache
def type_rules(type_name: str) -> tuple[Rule, ...]:
    """The root invariants of a type (resource or datatype); backbone paths have none."""
    definition = definitions.type_definition(type_name) if "." not in type_name else None
    return compile_rules(definition.constraints, type_name) if definition else ()


@dataclass(frozen=True, slots=True)
class ChildPlan:
    """How to check the values of ``<parent type>.<json key>``."""

    type: str | None
    rules: tuple[Rule, ...]
    label: str  # the key as a FHIRPath step: ``name`` or ``value.ofType(Quantity)``
    descend: bool  # whether anything below can have rules
    visit: bool  # whether the values need looking at at all
    is_reference: bool = False  # a Reference: its ``#id`` values settle dom-3 (see the walk)
    # a primitive without rules: its JSON value, when well formed (a string, number, boolean),
    # has nothing to check; only a malformed object or array in its place would be walked
    leaf: bool = False
    # no rules of its own, not a Reference or resource: only walked for what lies below
    plain: bool = False


# Elements that hold extensions: in a resource without any (``extensions=False`` below), types
# visited only for the rules of what an extension may hold need no visit.
EXTENSION_KEYS: Final = frozenset({"extension", "modifierExtension"})


@cache
def child_plan(parent_type: str, key: str, extensions: bool = True) -> ChildPlan | None:
    """The plan of ``<parent_type>.<key>``; ``extensions=False``: for a resource known to hold
    no ``extension`` or ``modifierExtension`` anywhere (the same rules, fewer visits)."""
    if not extensions and key in EXTENSION_KEYS:
        return None
    found = model.child(parent_type, key)
    name, label, type_name = key, key, None
    if found is not None and found.type is not None:
        type_name = found.type
    else:
        choice = model.choice_key(parent_type, key)
        if choice is None:
            return None
        name, type_name = choice
        label = f"{name}.ofType({type_name})"
    element = definitions.element(f"{parent_type}.{name}") or definitions.element(
        f"{parent_type}.{name}[x]"
    )
    element_rules = compile_rules(element.constraints, type_name) if element else ()
    own = type_rules(type_name) if type_name not in RESOURCE_TYPES else ()
    keys = {rule.key for rule in element_rules}
    rules = element_rules + tuple(r for r in own if r.key not in keys)
    descend = type_name is not None and needs_visit(type_name, extensions=extensions)
    visit = bool(rules) or descend or type_name in RESOURCE_TYPES
    leaf = not rules and model.is_primitive(type_name)
    is_reference = type_name == "Reference"
    plain = not rules and not is_reference and type_name not in RESOURCE_TYPES
    return ChildPlan(type_name, rules, label, descend, visit, is_reference, leaf, plain)


def _element_names(type_name: str) -> list[str]:
    if "." in type_name:
        prefix = type_name + "."
        head = type_name.split(".", 1)[0]
        paths = [p for p in definitions.elements_of(head) if p.startswith(prefix)]
    else:
        prefix = type_name + "."
        paths = list(definitions.elements_of(type_name))
    return [p[len(prefix) :].removesuffix("[x]") for p in paths if "." not in p[len(prefix) :]]


@cache
def needs_visit(
    type_name: str | None, _seen: frozenset[str] = frozenset(), extensions: bool = True
) -> bool:
    """Whether a node of this type, or anything below it, has rules to evaluate
    (``extensions=False``: leaving out what its extensions could hold)."""
    if type_name is None or type_name in RESOURCE_TYPES or model.is_resource_type(type_name):
        return True
    if type_name in _seen:
        return False
    if type_rules(type_name):
        return True
    seen = _seen | {type_name}
    for name in _element_names(type_name):
        if not extensions and name in EXTENSION_KEYS:
            continue
        found = model.child(type_name, name)
        if found is None:
            continue
        types = [found.type] if found.type else list(found.choices.values())
        if found.type is None and any(needs_visit(t, seen, extensions) for t in types):
            return True
        if found.type is not None and (
            _has_element_rules(type_name, name) or needs_visit(found.type, seen, extensions)
        ):
            return True
    return False


def _has_element_rules(type_name: str, name: str) -> bool:
    element = definitions.element(f"{type_name}.{name}")
    return element is not None and bool(compile_rules(element.constraints, None))


# DomainResource rules about ``contained`` only: true when there is none (an empty collection's
# where/meta is empty), so a well-formed resource without contained ones skips them.
_CONTAINED_RULES: Final = frozenset({"dom-3", "dom-4", "dom-5"})


@cache
def rules_without_contained(type_name: str) -> tuple[Rule, ...]:
    return tuple(rule for rule in type_rules(type_name) if rule.key not in _CONTAINED_RULES)
