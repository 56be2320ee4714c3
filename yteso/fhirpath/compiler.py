"""Compile a FHIRPath syntax tree into nested Python closures.

https://hl7.org/fhirpath/N1/#path-selection, #functions, #operations. Each node becomes
``evaluate(this, env) -> collection`` where ``this`` is the ``$this`` collection the path starts
from; dispatch is on the node class (``_compile_<node>``), as sqlglot's generators do.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from yteso.fhirpath import (  # noqa: F401 - importing a section registers its functions
    aggregates,
    boundaries,
    combining,
    conversion,
    existence,
    fhir_functions,
    filtering,
    math,
    model,
    navigation,
    nodes,
    strings,
    subsetting,
    subsumption,
    utility,
)
from yteso.fhirpath.context import Collection, Environment, Evaluator, integer_argument, single
from yteso.fhirpath.errors import FhirPathEvaluationError, FhirPathSyntaxError
from yteso.fhirpath.operators import BINARY, LOGIC, negate
from yteso.fhirpath.paths import ChoiceNavigator, Navigator
from yteso.fhirpath.quantity import Quantity
from yteso.fhirpath.registry import lookup
from yteso.fhirpath.temporal import parse_literal
from yteso.fhirpath.tokens import position
from yteso.fhirpath.type_checks import (
    check_specifier,
    matches,
    node_type,
    specifier_from_expression,
)
from yteso.fhirpath.values import Node

CONSTANTS = {
    "ucum": "http://unitsofmeasure.org",
    "sct": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
}


class Compiler:
    """Turns one parsed expression into an :data:`Evaluator`."""

    def __init__(self, source: str, *, strict: bool = False) -> None:
        self.source = source
        self.strict = strict  # checked against the context type by the engine, per type

    def compile(self, node: nodes.Expression) -> Evaluator:
        method: Callable[[nodes.Expression], Evaluator] = getattr(
            self, "_compile_" + type(node).__name__
        )
        return method(node)

    def error(self, node: nodes.Expression, message: str) -> FhirPathSyntaxError:
        line, column = position(self.source, node.offset)
        return FhirPathSyntaxError(message, line, column)

    # -- literals ----------------------------------------------------------------------
    @staticmethod
    def _constant(value: Any) -> Evaluator:
        def constant(this: Collection, env: Environment) -> Collection:
            return [value]

        return constant

    def _compile_EmptyLiteral(self, node: nodes.EmptyLiteral) -> Evaluator:
        return lambda this, env: []

    def _compile_BooleanLiteral(self, node: nodes.BooleanLiteral) -> Evaluator:
        return self._constant(node.value)

    def _compile_StringLiteral(self, node: nodes.StringLiteral) -> Evaluator:
        return self._constant(node.value)

    def _compile_NumberLiteral(self, node: nodes.NumberLiteral) -> Evaluator:
        return self._constant(node.value)

    def _compile_QuantityLiteral(self, node: nodes.QuantityLiteral) -> Evaluator:
        return self._constant(Quantity(Decimal(node.value), node.unit))

    def _compile_DateTimeLiteral(self, node: nodes.DateTimeLiteral) -> Evaluator:
        value = parse_literal(node.text)
        if value is None:
            raise self.error(node, f"invalid date/time literal @{node.text}")
        return self._constant(value)

    # -- paths ---------------------------------------------------------------------------
    def _compile_Identifier(self, node: nodes.Identifier) -> Evaluator:
        navigate = Navigator(node.name)
        name = node.name
        if not (name[:1].isupper() and model.is_known_type(name)):
            return lambda this, env: navigate(this)

        def type_or_member(this: Collection, env: Environment) -> Collection:
            if len(this) == 1 and type(this[0]) is Node and this[0].type == name:
                return this  # the usual ``Patient.`` at the start of a path
            typed = [item for item in this if type(item) is Node and _has_type(item, name)]
            return typed if typed else navigate(this)

        return type_or_member

    def _compile_Member(self, node: nodes.Member) -> Evaluator:
        source = self.compile(node.source)
        navigate = Navigator(node.name)
        return lambda this, env: navigate(source(this, env))

    def _compile_Indexer(self, node: nodes.Indexer) -> Evaluator:
        source, index = self.compile(node.source), self.compile(node.index)

        def indexer(this: Collection, env: Environment) -> Collection:
            items = source(this, env)
            position_ = integer_argument(index(this, env), "indexer []")
            if position_ is None or not 0 <= position_ < len(items):
                return []
            return [items[position_]]

        return indexer

    def _compile_SpecialVariable(self, node: nodes.SpecialVariable) -> Evaluator:
        if node.name == "this":
            return lambda this, env: this
        if node.name == "index":
            return lambda this, env: [] if env.index is None else [env.index]
        return lambda this, env: env.total

    def _compile_EnvironmentVariable(self, node: nodes.EnvironmentVariable) -> Evaluator:
        name = node.name
        if name in CONSTANTS:
            return self._constant(CONSTANTS[name])
        if name.startswith("vs-"):
            return self._constant("http://hl7.org/fhir/ValueSet/" + name[3:])
        if name.startswith("ext-"):
            return self._constant("http://hl7.org/fhir/StructureDefinition/" + name[4:])
        if name in ("resource", "rootResource", "context"):
            attribute = {"resource": "resource", "rootResource": "root_resource"}.get(
                name, "context"
            )
            return lambda this, env: getattr(env, attribute)

        def variable(this: Collection, env: Environment) -> Collection:
            if name not in env.variables:
                raise FhirPathEvaluationError(f"undefined environment variable %{name}")
            value = env.variables[name]
            return list(value) if isinstance(value, (list, tuple)) else [value]

        return variable

    # -- operators -----------------------------------------------------------------------
    def _compile_Unary(self, node: nodes.Unary) -> Evaluator:
        operand, symbol = self.compile(node.operand), node.operator
        return lambda this, env: negate(operand(this, env), symbol)

    def _compile_Binary(self, node: nodes.Binary) -> Evaluator:
        left, right = self.compile(node.left), self.compile(node.right)
        operator = LOGIC.get(node.operator) or BINARY[node.operator]
        if node.operator in ("=", "!=") and isinstance(node.right, nodes.StringLiteral):
            return _string_equality(left, node.right.value, operator, node.operator == "!=")
        if node.operator in _DECIDED_BY_LEFT:
            return _short_circuit(left, right, operator, _DECIDED_BY_LEFT[node.operator])
        return lambda this, env: operator(left(this, env), right(this, env))

    def _compile_TypeOperation(self, node: nodes.TypeOperation) -> Evaluator:
        check_specifier(node.type)
        operand, spec = self.compile(node.operand), node.type
        if node.operator == "is":
            return lambda this, env: is_type(operand(this, env), spec)
        return lambda this, env: as_type(operand(this, env), spec)

    def _compile_TypeSpecifier(self, node: nodes.TypeSpecifier) -> Evaluator:
        raise self.error(node, "a type name is not an expression")

    # -- functions -----------------------------------------------------------------------
    def _compile_FunctionCall(self, node: nodes.FunctionCall) -> Evaluator:
        spec = lookup(node.name)
        if spec is None:
            raise self.error(node, f"unknown function {node.name}()")
        count = len(node.arguments)
        if not spec.required <= count <= len(spec.kinds):
            raise self.error(node, f"{node.name}() takes {_arity(spec.required, spec.kinds)}")
        source = self.compile(node.source) if node.source is not None else None
        arguments = [
            self._argument(kind, a) for kind, a in zip(spec.kinds, node.arguments, strict=False)
        ]
        kinds = spec.kinds[:count]
        general = _call(spec.implementation, source, arguments, kinds)
        if node.name == "ofType" and isinstance(node.source, nodes.Member):
            if arguments[0].namespace != "System":
                return self._choice_of_type(node.source, arguments[0])
        return general

    def _choice_of_type(self, member: nodes.Member, spec: nodes.TypeSpecifier) -> Evaluator:
        """``value.ofType(Quantity)`` reads ``valueQuantity`` alone when ``value`` is a choice."""
        parents = self.compile(member.source)
        navigate = ChoiceNavigator(member.name, spec.name)

        def choice(this: Collection, env: Environment) -> Collection:
            parent_items = parents(this, env)
            found = navigate(parent_items)
            if found is None:  # not a choice element here: filter the plain children
                return filtering.of_type(navigate.generic(parent_items), env, spec)
            return found

        return choice

    def _argument(self, kind: str, argument: nodes.Expression) -> Any:
        if kind == "t":
            try:
                spec = specifier_from_expression(argument)
            except FhirPathEvaluationError as exc:
                raise self.error(argument, str(exc)) from None
            check_specifier(spec)
            return spec
        if kind == "s":
            if isinstance(argument, nodes.Unary) and argument.operator == "-":
                return self.compile(argument.operand), True
            return self.compile(argument), False
        return self.compile(argument)


# Boolean operators whose left operand alone can decide: ``true or x`` is true whatever x is.
_DECIDED_BY_LEFT = {"or": (True, True), "and": (False, False), "implies": (False, True)}


def _short_circuit(
    left: Evaluator,
    right: Evaluator,
    operator: Callable[[Collection, Collection], Collection],
    rule: tuple[bool, bool],
) -> Evaluator:
    """Skip the right operand when the left decides (the spec allows either order)."""
    deciding, result = rule
    decided = [result]

    def logic(this: Collection, env: Environment) -> Collection:
        first = left(this, env)
        if len(first) == 1 and first[0] is deciding:
            return decided
        return operator(first, right(this, env))

    return logic


_STRING_TYPES = frozenset(
    name for name, system in model.PRIMITIVE_SYSTEM_TYPES.items() if system == "String"
)


def _string_equality(
    left: Evaluator,
    constant: str,
    operator: Callable[[Collection, Collection], Collection],
    negate: bool,
) -> Evaluator:
    """``path = 'text'``: compare a single string node directly (the usual ``where`` test)."""
    constant_items = [constant]
    same, different = [not negate], [negate]

    def equality(this: Collection, env: Environment) -> Collection:
        items = left(this, env)
        if len(items) == 1:
            item = items[0]
            if type(item) is Node and type(item.data) is str and item.type in _STRING_TYPES:
                return same if item.data == constant else different
        return operator(items, constant_items)

    return equality


def _arity(required: int, kinds: str) -> str:
    if required == len(kinds):
        return f"{required} argument(s)"
    return f"{required} to {len(kinds)} arguments"


def _call(
    implementation: Callable[..., Collection],
    source: Evaluator | None,
    arguments: list[Any],
    kinds: str,
) -> Evaluator:
    if not arguments:
        if source is None:
            return lambda this, env: implementation(this, env)
        return lambda this, env: implementation(source(this, env), env)
    if kinds == "e" and source is not None:
        (argument,) = arguments
        return lambda this, env: implementation(source(this, env), env, argument)
    plan = list(zip(kinds, arguments, strict=True))

    def call(this: Collection, env: Environment) -> Collection:
        focus = this if source is None else source(this, env)
        values = [a(this, env) if kind == "v" else a for kind, a in plan]
        return implementation(focus, env, *values)

    return call


def _has_type(item: Node, name: str) -> bool:
    actual = node_type(item)
    return actual is not None and model.is_subtype(actual, name)


def is_type(items: Collection, spec: nodes.TypeSpecifier) -> Collection:
    item = single(items, "is")
    return [] if item is None else [matches(item, spec, exact=False)]


def as_type(items: Collection, spec: nodes.TypeSpecifier) -> Collection:
    """The ``as`` operator. On several items it filters, as R4's own search parameters
    (``Observation.component.value as Quantity``) require; the ``as()`` function stays strict."""
    return [item for item in items if matches(item, spec, exact=True)]
