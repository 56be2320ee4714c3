"""The R4 invariants (``ElementDefinition.constraint``) of a resource, evaluated by FHIRPath.

https://hl7.org/fhir/R4/conformance-rules.html#constraints. Every node is checked against the
constraints of its element (``pat-1`` on ``Patient.contact``) and of its datatype (``per-1`` on
any Period); contained resources, Bundle entries and ``Parameters`` resources are checked as
resources of their own (``%resource`` is the nearest resource, ``%rootResource`` the outermost).
Keys the structural validator already enforces (``ele-1``, ``ext-1``, ``dom-2/4/5``,
``txt-1/2``) are skipped,
as are the few expressions naming types R4 does not have (``dom-r4b``). Plans are compiled once
per element and type. The fast walk (shortcuts, skipped subtrees, dom-3 from the walked ``#id``
references) must give exactly the issues of ``check_invariants_by_evaluator``, the reference
that evaluates every applicable constraint (``tests/fhirpath/test_invariants_differential.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeAlias

from yteso.fhir import definitions
from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.fhirpath import model
from yteso.fhirpath.context import Environment, Services, truth
from yteso.fhirpath.engine import CompiledExpression, compile
from yteso.fhirpath.errors import FhirPathError
from yteso.fhirpath.invariant_shortcuts import Shortcut, shortcut
from yteso.fhirpath.values import Node

# Enforced by yteso.fhir.validation already (txt-1/txt-2: its narrative xhtml check).
STRUCTURAL_KEYS = frozenset({"ele-1", "ext-1", "dom-2", "dom-4", "dom-5", "txt-1", "txt-2"})
_RESOURCE_TYPES = frozenset({"Resource", "DomainResource"})


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


def _rules(
    constraints: tuple[definitions.Constraint, ...], context_type: str | None
) -> tuple[Rule, ...]:
    rules: dict[str, Rule] = {}
    for constraint in constraints:
        if constraint.key in STRUCTURAL_KEYS or constraint.key in rules:
            continue
        compiled = _compiled(constraint.expression) if constraint.expression else None
        if compiled is not None:
            rules[constraint.key] = Rule(
                constraint.key,
                constraint.severity,
                constraint.human,
                compiled,
                shortcut(compiled.tree, context_type),
            )
    return tuple(rules.values())


@cache
def type_rules(type_name: str) -> tuple[Rule, ...]:
    """The root invariants of a type (resource or datatype); backbone paths have none."""
    definition = definitions.type_definition(type_name) if "." not in type_name else None
    return _rules(definition.constraints, type_name) if definition else ()


@dataclass(frozen=True, slots=True)
class ChildPlan:
    """How to check the values of ``<parent type>.<json key>``."""

    type: str | None
    rules: tuple[Rule, ...]
    label: str  # the key as a FHIRPath step: ``name`` or ``value.ofType(Quantity)``
    descend: bool  # whether anything below can have rules
    visit: bool  # whether the values need looking at at all
    is_reference: bool = False  # a Reference: its ``#id`` values settle dom-3 (see _Checker)
    # a primitive without rules: its JSON value, when well formed (a string, number, boolean),
    # has nothing to check; only a malformed object or array in its place would be walked
    leaf: bool = False
    # no rules of its own, not a Reference or resource: only walked for what lies below
    plain: bool = False


@cache
def child_plan(parent_type: str, key: str) -> ChildPlan | None:
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
    element_rules = _rules(element.constraints, type_name) if element else ()
    own = type_rules(type_name) if type_name not in _RESOURCE_TYPES else ()
    keys = {rule.key for rule in element_rules}
    rules = element_rules + tuple(r for r in own if r.key not in keys)
    descend = type_name is not None and needs_visit(type_name)
    visit = bool(rules) or descend or type_name in _RESOURCE_TYPES
    leaf = not rules and model.is_primitive(type_name)
    is_reference = type_name == "Reference"
    plain = not rules and not is_reference and type_name not in _RESOURCE_TYPES
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
def needs_visit(type_name: str | None, _seen: frozenset[str] = frozenset()) -> bool:
    """Whether a node of this type, or anything below it, has rules to evaluate."""
    if type_name is None or type_name in _RESOURCE_TYPES or model.is_resource_type(type_name):
        return True
    if type_name in _seen:
        return False
    if type_rules(type_name):
        return True
    seen = _seen | {type_name}
    for name in _element_names(type_name):
        found = model.child(type_name, name)
        if found is None:
            continue
        types = [found.type] if found.type else list(found.choices.values())
        if found.type is None and any(needs_visit(t, seen) for t in types):
            return True
        if found.type is not None and (
            _has_element_rules(type_name, name) or needs_visit(found.type, seen)
        ):
            return True
    return False


def _has_element_rules(type_name: str, name: str) -> bool:
    element = definitions.element(f"{type_name}.{name}")
    return element is not None and bool(_rules(element.constraints, None))


# Where a node is: a FHIRPath string, or (parent, step, index) with index None for a single
# value. Built per visited node, rendered only for an issue (formatting every path cost ~10%).
Location: TypeAlias = "str | tuple[Location, str, int | None]"


def render(location: Location) -> str:
    """The FHIRPath of a location: ``Patient.contact[0].name``."""
    if type(location) is str:
        return location
    assert type(location) is tuple
    parent, step, index = location
    text = f"{render(parent)}.{step}"
    return text if index is None else f"{text}[{index}]"


# (parent type -> JSON key -> plan): child_plan() memoised without hashing a tuple per key
_PLANS: dict[str, dict[str, ChildPlan | None]] = {}
# (type -> the JSON keys found to need no visit in a well-formed resource: unknown ones, those
# with nothing to check below, leaf primitives): an object whose keys all are is skipped with one
# set test in C (a Coding, an Identifier without extensions) instead of a walk of its keys.
_SKIPPABLE: dict[str, set[str]] = {}
_DOM_3 = "dom-3"


class _Checker:
    """The fast walk: shortcuts, skipped subtrees and dom-3 read off the walk where they settle
    the verdict; the evaluator for everything else (``_EvaluatingChecker`` is the reference)."""

    fast = True

    def __init__(self, services: Services | None, well_formed: bool = False) -> None:
        self.services = services
        self.well_formed = well_formed and self.fast
        # malformed data is walked whole: a string where an object belongs is looked at
        self.skippable = _SKIPPABLE if self.well_formed else None
        self.issues: list[Issue] = []
        # ``reference`` values starting with ``#`` of the Reference nodes walked so far
        self.local_references: list[str] = []

    def resource(self, data: Json, where: Location, root: Node | None) -> None:
        type_name = data.get("resourceType")
        if not isinstance(type_name, str) or not model.is_resource_type(type_name):
            return
        location = render(where)
        node = Node(data, type_name)
        env = Environment([node], None, self.services, root_resource=[root or node])
        rules = type_rules(type_name)
        if self.well_formed and "contained" not in data:
            rules = _rules_without_contained(type_name)
        if location.endswith("]") and ".contained[" in location:
            # a contained resource's narrative is its container's (dom-6 is for the container)
            rules = tuple(rule for rule in rules if rule.key != "dom-6")
        where_text = location or type_name
        deferred = self._deferred_dom_3(rules, data)
        if deferred is None:
            self.apply(rules, data, type_name, env, where_text, node)
            self.children(data, type_name, env, where_text, root or node)
            return
        before, dom_3, after = deferred
        self.apply(before, data, type_name, env, where_text, node)
        slot, seen = len(self.issues), len(self.local_references)
        self.apply(after, data, type_name, env, where_text, node)
        self.children(data, type_name, env, where_text, root or node)
        if not _all_referenced(data["contained"], self.local_references[seen:]):
            # not settled by the references walked: the evaluator decides, its issue in place
            later, self.issues = self.issues[slot:], self.issues[:slot]
            self.apply((dom_3,), data, type_name, env, where_text, node)
            self.issues += later

    def _deferred_dom_3(
        self, rules: tuple[Rule, ...], data: Json
    ) -> tuple[tuple[Rule, ...], Rule, tuple[Rule, ...]] | None:
        """dom-3 of a resource with contained ones, to settle after its references are walked
        (through the evaluator it costs ~2 ms: ``descendants()`` of the whole resource). Only
        in well-formed resources: on malformed ones the evaluator may fail, and says so."""
        if not self.well_formed or "contained" not in data:
            return None
        for index, rule in enumerate(rules):
            if rule.key == _DOM_3:
                if rule.shortcut is not None and rule.shortcut(data) is not None:
                    return None
                return rules[:index], rule, rules[index + 1 :]
        return None

    def children(
        self, data: Json, type_name: str, env: Environment, location: Location, root: Node
    ) -> None:
        plans = _PLANS.get(type_name)
        if plans is None:
            plans = _PLANS[type_name] = {}
        for key, value in data.items():
            if key in plans:
                plan = plans[key]
            else:
                ignored = key.startswith("_") or key == "resourceType"
                plan = plans[key] = None if ignored else child_plan(type_name, key)
                if plan is None or not plan.visit or plan.leaf:
                    _SKIPPABLE.setdefault(type_name, set()).add(key)
            if plan is None or not plan.visit or (plan.leaf and self.well_formed):
                continue
            # A plain value that is no object, or whose keys all need no visit, has nothing
            # to check below it: skipped here, saving the call.
            skippable = None
            if plan.plain and self.skippable is not None:
                skippable = self.skippable.get(plan.type or "")
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if skippable is not None and (
                        type(item) is not dict or skippable.issuperset(item)
                    ):
                        continue
                    self.value(item, plan, env, (location, plan.label, index), root)
            elif skippable is None or (type(value) is dict and not skippable.issuperset(value)):
                self.value(value, plan, env, (location, plan.label, None), root)

    def value(
        self, data: Any, plan: ChildPlan, env: Environment, location: Location, root: Node
    ) -> None:
        if plan.type in _RESOURCE_TYPES:
            if isinstance(data, dict):
                contained = render(location).rsplit(".", 1)[-1].startswith("contained[")
                self.resource(data, location, root if contained else None)
            return
        # Nodes are made only where the evaluator runs: most values are settled by shortcuts.
        if plan.rules:
            self.apply(plan.rules, data, plan.type, env, location)
        if plan.is_reference and type(data) is dict:
            reference = data.get("reference")
            if type(reference) is str and reference[:1] == "#":
                self.local_references.append(reference)
        if plan.descend and isinstance(data, dict) and plan.type is not None:
            skippable = self.skippable.get(plan.type) if self.skippable is not None else None
            if skippable is None or not skippable.issuperset(data):
                self.children(data, plan.type, env, location, root)

    def apply(
        self,
        rules: tuple[Rule, ...],
        data: Any,
        type_name: str | None,
        env: Environment,
        location: Location,
        node: Node | None = None,
    ) -> None:
        for rule in rules:
            if self.fast and rule.shortcut is not None:
                verdict = rule.shortcut(data)
                if verdict is True:
                    continue
                if verdict is False:
                    self.fail(rule, location)
                    continue
            if node is None:
                node = Node(data, type_name)
            try:
                outcome = truth(rule.expression.evaluate_in([node], env))
            except FhirPathError as exc:
                self.issues.append(
                    Issue(
                        "error",
                        "invariant",
                        f"{rule.key}: cannot be evaluated: {exc}",
                        (render(location),),
                    )
                )
                continue
            if outcome is not True:
                self.fail(rule, location)

    def fail(self, rule: Rule, location: Location) -> None:
        diagnostics = f"{rule.key}: {rule.human}"
        self.issues.append(Issue(rule.severity, "invariant", diagnostics, (render(location),)))


# DomainResource rules about ``contained`` only: true when there is none (an empty collection's
# where/meta is empty), so a well-formed resource without contained ones skips them.
_CONTAINED_RULES = frozenset({"dom-3", "dom-4", "dom-5"})


@cache
def _rules_without_contained(type_name: str) -> tuple[Rule, ...]:
    return tuple(rule for rule in type_rules(type_name) if rule.key not in _CONTAINED_RULES)


class _EvaluatingChecker(_Checker):
    """The reference: every applicable constraint through the FHIRPath evaluator, every node
    walked. Slow; the differential tests hold the fast walk to its answers."""

    fast = False


def _all_referenced(contained: Any, references: list[str]) -> bool:
    """Whether every contained resource has a plain id that some walked ``#id`` reference names:
    then dom-3's first test (``'#'+id in %resource.descendants().reference``) holds for each."""
    if type(contained) is not list or not contained:
        return False
    named = set(references)
    for item in contained:
        if type(item) is not dict or "_id" in item:
            return False
        ident = item.get("id")
        if type(ident) is not str or "#" + ident not in named:
            return False
    return True


def check_invariants(
    resource: Json, services: Services | None = None, *, well_formed: bool = False
) -> list[Issue]:
    """Every violated R4 invariant of ``resource`` as an OperationOutcome issue.

    Severity comes from the constraint (``error`` or ``warning``); ``diagnostics`` is
    ``"<key>: <human>"``; ``expression`` is the FHIRPath location of the node
    (``Patient.contact[0]``). Run it after the structural validator; ``well_formed`` says
    that it found no error (every primitive element holds a JSON primitive), which lets the
    walk skip primitives without rules.
    """
    checker = _Checker(services, well_formed)
    checker.resource(resource, "", None)
    return checker.issues


def check_invariants_by_evaluator(resource: Json, services: Services | None = None) -> list[Issue]:
    """:func:`check_invariants` the slow, plain way: every applicable constraint evaluated by
    FHIRPath on every node, no shortcuts. For differential tests; the answers must be equal."""
    checker = _EvaluatingChecker(services)
    checker.resource(resource, "", None)
    return checker.issues


def check_element_invariants(
    data: Any, type_name: str, services: Services | None = None
) -> list[Issue]:
    """The invariants of one element and everything in it: a datatype's (``per-1`` on a
    Period), a backbone element's own (``pat-1`` on ``Patient.contact``), or a resource's
    (:func:`check_invariants`). Paths are rooted at the type name. For ``conformsTo()``."""
    if model.is_resource_type(type_name):
        return check_invariants(data, services) if type(data) is dict else []
    checker = _Checker(services)
    node = Node(data, type_name)
    env = Environment([node], None, services)
    if "." in type_name:
        element = definitions.element(type_name)
        rules = _rules(element.constraints, type_name) if element else ()
    else:
        rules = type_rules(type_name)
    checker.apply(rules, data, type_name, env, type_name, node)
    if type(data) is dict:
        checker.children(data, type_name, env, type_name, node)
    return checker.issues
