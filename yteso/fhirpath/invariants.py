"""The R4 invariants (``ElementDefinition.constraint``) of a resource, evaluated by FHIRPath.

https://hl7.org/fhir/R4/conformance-rules.html#constraints. Every node is checked against the
constraints of its element (``pat-1`` on ``Patient.contact``) and of its datatype (``per-1`` on
any Period); contained resources, Bundle entries and ``Parameters`` resources are checked as
resources of their own (``%resource`` is the nearest resource, ``%rootResource`` the outermost).
Keys the structural validator already enforces (``ele-1``, ``ext-1``, ``dom-2/4/5``,
``txt-1/2``) are skipped,
as are the few expressions naming types R4 does not have (``dom-r4b``). Rules and plans are
compiled once per element and type (:mod:`yteso.fhirpath.invariant_rules`). The fast walk
(shortcuts, skipped subtrees, dom-3 from the walked ``#id`` references) must give exactly the
issues of ``check_invariants_by_evaluator``, the reference that evaluates every applicable
constraint (``tests/fhirpath/test_invariants_differential.py``).
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias

from mypy_extensions import mypyc_attr

from yteso.fhir import definitions
from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.fhirpath import model
from yteso.fhirpath.context import Environment, Services, truth
from yteso.fhirpath.errors import FhirPathError
from yteso.fhirpath.invariant_rules import (
    RESOURCE_TYPES,
    ChildPlan,
    Rule,
    child_plan,
    compile_rules,
    rules_without_contained,
    type_rules,
)
from yteso.fhirpath.values import Node

# Where a node is: a FHIRPath string, or (parent, step, index) with index None for a single
# value. Built per visited node, rendered only for an issue (formatting every path cost ~10%).
# The parent is a Location too, typed Any: mypyc 2.4 crashes (SIGSEGV) on a recursive alias.
Location: TypeAlias = "str | tuple[Any, str, int | None]"


def render(location: Location) -> str:
    """The FHIRPath of a location: ``Patient.contact[0].name``."""
    if type(location) is str:
        return location
    assert type(location) is tuple
    parent, step, index = location
    text = f"{render(parent)}.{step}"
    return text if index is None else f"{text}[{index}]"


# (parent type -> JSON key -> plan): child_plan() memoised without hashing a tuple per key
_PLANS: Final[dict[str, dict[str, ChildPlan | None]]] = {}
# (type -> the JSON keys found to need no visit in a well-formed resource: unknown ones, those
# with nothing to check below, leaf primitives): an object whose keys all are is skipped with one
# set test in C (a Coding, an Identifier without extensions) instead of a walk of its keys.
_SKIPPABLE: Final[dict[str, set[str]]] = {}
# The same for resources without any extension (``child_plan(..., extensions=False)``): a
# CodeableConcept is visited in case a Coding holds an extension with a Period or Reference
# inside; with none in the resource it is skipped whole.
_PLANS_NO_EXTENSIONS: Final[dict[str, dict[str, ChildPlan | None]]] = {}
_SKIPPABLE_NO_EXTENSIONS: Final[dict[str, set[str]]] = {}
_DOM_3: Final = "dom-3"
# the names model.is_resource_type() accepted: an interpreted call per resource otherwise
_RESOURCE_NAMES: Final[set[str]] = set()


class _Scope:
    """A resource's (or a checked element's) evaluation context, made only when a rule needs
    the evaluator: most resources are settled by shortcuts alone, and the ``Node`` and
    ``Environment`` (interpreted classes) cost a few thousand instructions each time."""

    def __init__(self, data: Any, type_name: str | None, services: Services | None) -> None:
        self.data = data
        self.type_name = type_name
        self.services = services
        self.root: _Scope | None = None  # the outermost resource's, for a contained one
        self._node: Node | None = None
        self._env: Environment | None = None

    def node(self) -> Node:
        if self._node is None:
            self._node = Node(self.data, self.type_name)
        return self._node

    def environment(self) -> Environment:
        if self._env is None:
            node = self.node()
            if self.root is None:
                self._env = Environment([node], None, self.services)
            else:
                root = [self.root.node()]
                self._env = Environment([node], None, self.services, root_resource=root)
        return self._env


_UNPLANNED: Final = ChildPlan(None, (), "", False, False)  # a key not seen yet under its type


# Compiled with mypyc (docs/dev/native.md); the differential tests subclass the walk.
@mypyc_attr(allow_interpreted_subclasses=True)
class _Checker:
    """The fast walk: shortcuts, skipped subtrees and dom-3 read off the walk where they settle
    the verdict; the evaluator for everything else (``_EvaluatingChecker`` is the reference)."""

    fast = True

    def __init__(
        self, services: Services | None, well_formed: bool = False, extensions: bool = True
    ) -> None:
        self.services = services
        self.well_formed = well_formed and self.fast
        # ``extensions=False``: the caller knows the resource holds none (only trusted with
        # well-formed data, where every key is where its element belongs)
        self.extensions = extensions or not self.well_formed
        self.plans = _PLANS if self.extensions else _PLANS_NO_EXTENSIONS
        self.skip_sets = _SKIPPABLE if self.extensions else _SKIPPABLE_NO_EXTENSIONS
        # malformed data is walked whole: a string where an object belongs is looked at
        self.skippable = self.skip_sets if self.well_formed else None
        self.issues: list[Issue] = []
        # ``reference`` values starting with ``#`` of the Reference nodes walked so far
        self.local_references: list[str] = []

    def resource(self, data: Json, where: Location, root: _Scope | None) -> None:
        type_name = data.get("resourceType")
        if not isinstance(type_name, str):
            return
        if type_name not in _RESOURCE_NAMES:
            if not model.is_resource_type(type_name):
                return
            _RESOURCE_NAMES.add(type_name)
        location = render(where)
        scope = _Scope(data, type_name, self.services)
        scope.root = root
        rules = type_rules(type_name)
        if self.well_formed and "contained" not in data:
            rules = rules_without_contained(type_name)
        if location.endswith("]") and ".contained[" in location:
            # a contained resource's narrative is its container's (dom-6 is for the container)
            rules = tuple(rule for rule in rules if rule.key != "dom-6")
        where_text = location or type_name
        deferred = self._deferred_dom_3(rules, data)
        if deferred is None:
            self.apply(rules, data, type_name, scope, where_text, True)
            self.children(data, type_name, scope, where_text, root or scope)
            return
        before, dom_3, after = deferred
        self.apply(before, data, type_name, scope, where_text, True)
        slot, seen = len(self.issues), len(self.local_references)
        self.apply(after, data, type_name, scope, where_text, True)
        self.children(data, type_name, scope, where_text, root or scope)
        if not _all_referenced(data["contained"], self.local_references[seen:]):
            # not settled by the references walked: the evaluator decides, its issue in place
            later, self.issues = self.issues[slot:], self.issues[:slot]
            self.apply((dom_3,), data, type_name, scope, where_text, True)
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
        self, data: Json, type_name: str, scope: _Scope, location: Location, root: _Scope
    ) -> None:
        plans = self.plans.get(type_name)
        if plans is None:
            plans = self.plans[type_name] = {}
        for key, value in data.items():
            plan = plans.get(key, _UNPLANNED)
            if plan is _UNPLANNED:
                ignored = key.startswith("_") or key == "resourceType"
                plan = None if ignored else child_plan(type_name, key, self.extensions)
                plans[key] = plan
                if plan is None or not plan.visit or plan.leaf:
                    self.skip_sets.setdefault(type_name, set()).add(key)
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
                        type(item) is not dict or _all_in(skippable, item)
                    ):
                        continue
                    self.value(item, plan, scope, (location, plan.label, index), root)
            elif skippable is None or (type(value) is dict and not _all_in(skippable, value)):
                self.value(value, plan, scope, (location, plan.label, None), root)

    def value(
        self, data: Any, plan: ChildPlan, scope: _Scope, location: Location, root: _Scope
    ) -> None:
        if plan.type in RESOURCE_TYPES:
            if isinstance(data, dict):
                contained = render(location).rsplit(".", 1)[-1].startswith("contained[")
                self.resource(data, location, root if contained else None)
            return
        # Nodes are made only where the evaluator runs: most values are settled by shortcuts.
        if plan.rules:
            self.apply(plan.rules, data, plan.type, scope, location)
        if plan.is_reference and type(data) is dict:
            reference = data.get("reference")
            if type(reference) is str and reference[:1] == "#":
                self.local_references.append(reference)
        if plan.descend and isinstance(data, dict) and plan.type is not None:
            skippable = self.skippable.get(plan.type) if self.skippable is not None else None
            if skippable is None or not _all_in(skippable, data):
                self.children(data, plan.type, scope, location, root)

    def apply(
        self,
        rules: tuple[Rule, ...],
        data: Any,
        type_name: str | None,
        scope: _Scope,
        location: Location,
        own: bool = False,
    ) -> None:
        """``own``: ``data`` is the scope's own resource or element (its node is the one
        ``%resource`` holds), not a value inside it."""
        node: Node | None = None
        for rule in rules:
            if self.fast and rule.shortcut is not None:
                verdict = rule.shortcut(data)
                if verdict is True:
                    continue
                if verdict is False:
                    self.fail(rule, location)
                    continue
            if node is None:
                node = scope.node() if own else Node(data, type_name)
            try:
                outcome = truth(rule.expression.evaluate_in([node], scope.environment()))
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
        if type(location) is str:  # a resource's own: dom-6 on every resource without narrative
            key = (rule.key, rule.severity, rule.human, location)
            issue = _RESOURCE_ISSUES.get(key)
            if issue is None:
                if len(_RESOURCE_ISSUES) >= 4096:
                    _RESOURCE_ISSUES.clear()
                issue = _RESOURCE_ISSUES[key] = _issue(rule, location)
            self.issues.append(issue)  # frozen: one shared instance is the same issue
            return
        self.issues.append(_issue(rule, render(location)))


def _issue(rule: Rule, path: str) -> Issue:
    return Issue(rule.severity, "invariant", f"{rule.key}: {rule.human}", (path,))


# Issues of failed rules at a resource's root, made once: a bulk load of resources without
# narrative fails dom-6 (a warning) on each, and making the Issue cost ~1% of a resource.
_RESOURCE_ISSUES: Final[dict[tuple[str, str, str, str], Issue]] = {}


class _EvaluatingChecker(_Checker):
    """The reference: every applicable constraint through the FHIRPath evaluator, every node
    walked. Slow; the differential tests hold the fast walk to its answers."""

    fast = False


def _all_in(keys: set[str], data: dict[str, Any]) -> bool:
    """``keys.issuperset(data)``, as a loop mypyc compiles: the method call, looked up by
    name on every visited object, cost ~200 instructions (~15k per bench resource)."""
    for key in data:
        if key not in keys:
            return False
    return True


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
    resource: Json,
    services: Services | None = None,
    *,
    well_formed: bool = False,
    extensions: bool = True,
) -> list[Issue]:
    """Every violated R4 invariant of ``resource`` as an OperationOutcome issue.

    Severity comes from the constraint (``error`` or ``warning``); ``diagnostics`` is
    ``"<key>: <human>"``; ``expression`` is the FHIRPath location of the node
    (``Patient.contact[0]``). Run it after the structural validator; ``well_formed`` says
    that it found no error (every primitive element holds a JSON primitive), which lets the
    walk skip primitives without rules. ``extensions=False`` (with ``well_formed``) says that
    no object in it has an ``extension`` or ``modifierExtension`` key, which lets the walk skip
    values that could only hold rules inside an extension (the same issues).
    """
    checker = _Checker(services, well_formed, extensions)
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
    scope = _Scope(data, type_name, services)
    if "." in type_name:
        element = definitions.element(type_name)
        rules = compile_rules(element.constraints, type_name) if element else ()
    else:
        rules = type_rules(type_name)
    checker.apply(rules, data, type_name, scope, type_name, True)
    if type(data) is dict:
        checker.children(data, type_name, scope, type_name, scope)
    return checker.issues
