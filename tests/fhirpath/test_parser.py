"""Parser: precedence, literals, positions of syntax errors, and print/parse round trips."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yteso.fhirpath import FhirPathSyntaxError, nodes, parse
from yteso.fhirpath.parser import BINARY_PRECEDENCE
from yteso.fhirpath.printer import to_text

PARSES = [
    ("1 + 2 * 3", "(1 + (2 * 3))"),
    ("-Patient.name.count() = -5", "((-Patient.name.count()) = (-5))"),
    ("1 > 2 is Boolean", "(1 > (2 is Boolean))"),
    ("1 | 1 is Integer", "(1 | (1 is Integer))"),
    ("a and b or c implies d", "(((a and b) or c) implies d)"),
    ("x in y and z contains w", "((x in y) and (z contains w))"),
    ("4 days.convertsToQuantity()", "4 days.convertsToQuantity()"),
    ("10.1 'mg'", "10.1 'mg'"),
    ("@2015-02-04T14:34:28.123+10:00", "@2015-02-04T14:34:28.123+10:00"),
    ("@T14:34", "@T14:34"),
    ("name.`given`", "name.given"),
    ("`div`.contains('x')", "`div`.contains('x')"),
    ("%`vs-administrative-gender`", "%`vs-administrative-gender`"),
    ("Patient.name[0].given", "Patient.name[0].given"),
    ("'a\\nb\\u0041'", "'a\\nbA'"),
    ("$this.where($index > $total)", "$this.where(($index > $total))"),
    ("x as FHIR.Patient", "(x as FHIR.Patient)"),
    ("{} | 1.0", "({} | 1.0)"),
]


@pytest.mark.parametrize(("source", "printed"), PARSES)
def test_parse_and_print(source: str, printed: str) -> None:
    assert to_text(parse(source)) == printed


ERRORS = [
    ("2 + 2 /", 1, 8),
    ("2 + 2 /* never closed", 1, 7),
    ("name.where(", 1, 12),
    ("Patient.\n  name..given", 2, 8),
    ("'unterminated", 1, 1),
    ("@2015-13-01", 1, 1),
    ("@T14:34:28Z", 1, 11),
    ("$that", 1, 1),
    ("1 2", 1, 3),
    ("", 1, 1),
]


@pytest.mark.parametrize(("source", "line", "column"), ERRORS)
def test_syntax_errors_have_line_and_column(source: str, line: int, column: int) -> None:
    with pytest.raises(FhirPathSyntaxError) as caught:
        parse(source)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert f"line {line}, column {column}" in str(caught.value)


# -- property: print(tree) parses back to the same tree ------------------------------------
NAMES = st.one_of(
    st.sampled_from(["name", "given", "Patient", "value", "div", "true", "as", "days", "_x1"]),
    st.text(alphabet="abcXYZ_-1 `'\\é", min_size=1, max_size=6),
)
DATES = st.sampled_from(
    [
        "2015",
        "2015-02",
        "2015-02-04",
        "2015T",
        "2015-02-04T14",
        "2015-02-04T14:34:28.123Z",
        "2015-02-04T14:34+07:00",
        "T14",
        "T14:34:28",
        "T14:34:28.5",
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
)
LEAVES = st.one_of(
    st.just(nodes.EmptyLiteral()),
    st.booleans().map(nodes.BooleanLiteral),
    st.text(max_size=8).map(nodes.StringLiteral),
    NUMBERS.map(nodes.NumberLiteral),
    DATES.map(nodes.DateTimeLiteral),
    st.builds(nodes.QuantityLiteral, NUMBERS, st.text(min_size=1, max_size=5)),
    st.builds(nodes.QuantityLiteral, NUMBERS, st.sampled_from(["day", "weeks"]), st.just(True)),
    NAMES.map(nodes.Identifier),
    st.sampled_from(["this", "index", "total"]).map(nodes.SpecialVariable),
    NAMES.map(nodes.EnvironmentVariable),
)
OPERATORS = sorted(set(BINARY_PRECEDENCE) - {"is", "as"})
TYPES = st.builds(nodes.TypeSpecifier, st.sampled_from([None, "FHIR", "System"]), NAMES)


def _compound(children: st.SearchStrategy[nodes.Expression]) -> st.SearchStrategy[nodes.Expression]:
    return st.one_of(
        st.builds(nodes.Member, children, NAMES),
        st.builds(
            nodes.FunctionCall,
            st.one_of(st.none(), children),
            NAMES,
            st.lists(children, max_size=3).map(tuple),
        ),
        st.builds(nodes.Indexer, children, children),
        st.builds(nodes.Unary, st.sampled_from(["+", "-"]), children),
        st.builds(nodes.Binary, st.sampled_from(OPERATORS), children, children),
        st.builds(nodes.TypeOperation, st.sampled_from(["is", "as"]), children, TYPES),
    )


TREES = st.recursive(LEAVES, _compound, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(TREES)
def test_printed_tree_parses_back_to_the_same_tree(tree: nodes.Expression) -> None:
    assert parse(to_text(tree)) == tree


def test_decimal_scale_survives_the_round_trip() -> None:
    tree = parse("1.50")
    assert isinstance(tree, nodes.NumberLiteral) and str(tree.value) == "1.50"
    assert to_text(tree) == "1.50" and tree.value == Decimal("1.5")


def test_every_suite_expression_round_trips() -> None:
    """Each expression of the official R4 suite that parses prints back to the same tree."""
    import xml.etree.ElementTree as ET

    from tests.conftest import shared_path

    suite = shared_path("suites", "fhirpath", "r4", "tests-fhir-r4.xml")
    parsed = 0
    for expression in ET.parse(suite).getroot().iter("expression"):
        try:
            tree = parse(expression.text or "")
        except FhirPathSyntaxError:
            continue
        assert parse(to_text(tree)) == tree, expression.text
        parsed += 1
    assert parsed > 900
