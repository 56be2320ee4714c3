"""Conditions on one index-table row (alias ``s``) for one search value, per parameter type.

https://hl7.org/fhir/R4/search.html#string, #token, #date, #number, #quantity, #reference,
#uri. Comma-separated values are ORed; each value's condition binds its values.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from yteso.fhir.definitions import value_set_concepts
from yteso.fhir.errors import Invalid
from yteso.store.date_ranges import parse_date_range
from yteso.store.index_values import split_reference
from yteso.store.instants import format_instant
from yteso.store.search_values import (
    implicit_range,
    parse_decimal,
    parse_quantity,
    parse_token,
    split_prefix,
)
from yteso.store.sql_dialect import SqlParams
from yteso.store.text_folding import MAX_INDEXED_LENGTH, fold_text, like_escape
from yteso.store.ucum_units import UCUM_SYSTEM, canonical_unit

TRIGRAM = 3  # the shortest text a trigram index can look up
_INDEXED_TEXT = {"_text": "_text", "_content": "_content"}  # constants for partial indexes
_PREFIX_END = "\U0010ffff"  # sorts after every character: [p, p + END) is "starts with p"
_MODIFIERS = {
    "string": (None, "exact", "contains"),
    "token": (None, "text", "in"),
    "date": (None,),
    "number": (None,),
    "quantity": (None,),
    "reference": None,  # any target type name is a modifier
    "uri": (None, "above", "below"),
    "text": ("contains",),
}


class ValueConditions:
    def __init__(self, params: SqlParams, now: datetime) -> None:
        self.params = params
        self.now = now

    def bind(self, value: object) -> str:
        return self.params.bind(value)

    def any_of(self, table: str, code: str, values: tuple[str, ...], modifier: str | None) -> str:
        allowed = _MODIFIERS[table]
        if allowed is not None and modifier not in allowed:
            raise Invalid(f"modifier ':{modifier}' is not supported on '{code}'", expression=code)
        if table == "token" and modifier is None:
            return self._tokens(code, values)
        method = getattr(self, f"_{table}")
        ors = [method(code, value, modifier) for value in values]
        return " AND (" + " OR ".join(f"({o})" for o in ors) + ")"

    def _prefix(self, column: str, text: str) -> str:
        return f"{column} >= {self.bind(text)} AND {column} < {self.bind(text + _PREFIX_END)}"

    def _string(self, code: str, value: str, modifier: str | None) -> str:
        if modifier == "exact":
            return f"s.exact = {self.bind(value[:MAX_INDEXED_LENGTH])}"
        folded = fold_text(value)[:MAX_INDEXED_LENGTH]
        if modifier == "contains":
            return f"s.norm LIKE {self.bind('%' + like_escape(folded) + '%')} ESCAPE '\\'"
        return self._prefix("s.norm", folded)

    def _text(self, code: str, value: str, modifier: str | None) -> str:
        """Contains, on the folded text. PostgreSQL's trigram GIN index serves the LIKE itself;
        on SQLite the FTS5 trigram index finds the candidate ``_text`` rows (3+ characters)
        and the same LIKE decides, so both databases return the same rows."""
        folded = fold_text(value)
        like = f"s.content LIKE {self.bind('%' + like_escape(folded) + '%')} ESCAPE '\\'"
        if len(folded) < TRIGRAM:
            return like
        if self.params.dialect.name != "sqlite":
            # The partial index's own predicate, as text (a constant of this module, not a
            # search value): a generic plan cannot prove it from the bound parameter. The
            # _content index exists only where the deployment turned it on (search_options).
            return f"s.param = '{_INDEXED_TEXT[code]}' AND {like}"
        if code == "_content" and not self.params.dialect.content_index:
            return like
        fts = "SELECT rowid FROM search_text_fts WHERE search_text_fts MATCH "
        return f"s.rowid IN ({fts}{self.bind(_all_trigrams(folded))}) AND {like}"

    def _tokens(self, code: str, values: tuple[str, ...]) -> str:
        """Plain codes go into one ``IN`` list (an OR of 100 codes is one index probe each)."""
        plain = [v for v in values if "|" not in v]
        ors = [self._token(code, v, None) for v in values if "|" in v]
        if plain:
            ors.append(f"s.code IN ({self.params.bind_all(plain)})")
        return " AND (" + " OR ".join(f"({o})" for o in ors) + ")"

    def _token(self, code: str, value: str, modifier: str | None) -> str:
        if modifier == "text":
            return self._prefix("s.display", fold_text(value)[:MAX_INDEXED_LENGTH])
        if modifier == "in":
            return self._in_value_set(code, value)
        token = parse_token(value)
        tests = []
        if token.no_system:
            tests.append("s.system IS NULL")
        elif token.system is not None:
            tests.append(f"s.system = {self.bind(token.system)}")
        if token.code is not None:
            tests.append(f"s.code = {self.bind(token.code)}")
        return " AND ".join(tests)

    def _in_value_set(self, code: str, url: str) -> str:
        concepts = value_set_concepts(url)
        if concepts is None:
            raise Invalid(f"{code}: value set {url} cannot be expanded here", expression=code)
        ors = [
            f"(s.system = {self.bind(system)} AND s.code IN ({self.params.bind_all(sorted(c))}))"
            for system, c in concepts.items()
            if c
        ]
        return " OR ".join(ors) or "1 = 0"

    def of_type(self, code: str, values: tuple[str, ...]) -> str:
        ors = []
        for value in values:
            parts = value.split("|")
            if len(parts) != 3:
                raise Invalid(f"{code}:of-type takes system|code|value", expression=code)
            system, type_code, identifier = parts
            typed = f"{type_code}|{identifier}"
            ors.append(f"(s.system = {self.bind(system)} AND s.code = {self.bind(typed)})")
        return " AND (" + " OR ".join(ors) + ")"

    def _date(self, code: str, value: str, modifier: str | None) -> str:
        prefix, text = split_prefix(value)
        span = parse_date_range(text, expression=code)
        low, high = format_instant(span.start), format_instant(span.end)
        if prefix == "ap":
            slack = abs(self.now - span.start) * 0.1
            low, high = format_instant(span.start - slack), format_instant(span.end + slack)
            return f"s.low < {self.bind(high)} AND s.high > {self.bind(low)}"
        inside = f"s.low >= {self.bind(low)} AND s.high <= {self.bind(high)}"
        # ge/le: the leading bound is implied by either branch; it lets an index range-scan.
        tests = {
            "eq": lambda: f"{inside} AND s.low < {self.bind(high)}",
            "ne": lambda: f"NOT ({inside})",
            "gt": lambda: f"s.high > {self.bind(high)}",
            "lt": lambda: f"s.low < {self.bind(low)}",
            "ge": lambda: (
                f"s.high > {self.bind(low)} AND (s.high > {self.bind(high)} OR ({inside}))"
            ),
            "le": lambda: f"s.low < {self.bind(high)} AND (s.low < {self.bind(low)} OR ({inside}))",
            "sa": lambda: f"s.low >= {self.bind(high)}",
            "eb": lambda: f"s.high <= {self.bind(low)}",
        }
        return tests[prefix]()

    def _compare(self, column: str, prefix: str, number: Decimal) -> str:
        low, high = implicit_range(number)
        exact = float(number)
        if prefix == "eq":
            return f"{column} >= {self.bind(float(low))} AND {column} < {self.bind(float(high))}"
        if prefix == "ne":
            return (
                f"NOT ({column} >= {self.bind(float(low))} AND {column} < {self.bind(float(high))})"
            )
        if prefix == "ap":
            slack = abs(number) * Decimal("0.1")
            lo, hi = float(number - slack), float(number + slack)
            return f"{column} >= {self.bind(lo)} AND {column} <= {self.bind(hi)}"
        operator = {"gt": ">", "sa": ">", "lt": "<", "eb": "<", "ge": ">=", "le": "<="}[prefix]
        return f"{column} {operator} {self.bind(exact)}"

    def _number(self, code: str, value: str, modifier: str | None) -> str:
        prefix, text = split_prefix(value)
        return self._compare("s.value", prefix, parse_decimal(text, code))

    def _quantity(self, code: str, value: str, modifier: str | None) -> str:
        quantity = parse_quantity(value, code)
        if quantity.code is not None and quantity.system in (None, UCUM_SYSTEM):
            found = canonical_unit(quantity.code)
            if found is not None:
                scaled = quantity.number * found[1]
                unit = f"s.canonical_code = {self.bind(found[0])}"
                return f"{unit} AND {self._compare('s.canonical_value', quantity.prefix, scaled)}"
        tests = [self._compare("s.value", quantity.prefix, quantity.number)]
        if quantity.system is not None:
            tests.append(f"s.system = {self.bind(quantity.system)}")
        if quantity.code is not None:
            tests.append(f"s.code = {self.bind(quantity.code)}")
        return " AND ".join(tests)

    def _reference(self, code: str, value: str, modifier: str | None) -> str:
        if "/" not in value:  # a plain id, optionally typed by the modifier
            test = f"s.target_id = {self.bind(value)}"
            return test if modifier is None else f"{test} AND s.target_type = {self.bind(modifier)}"
        target_type, target_id = split_reference(value)
        if value.startswith(("http://", "https://", "urn:")) or target_type is None:
            return f"s.url = {self.bind(value)}"
        return f"s.target_type = {self.bind(target_type)} AND s.target_id = {self.bind(target_id)}"

    def _uri(self, code: str, value: str, modifier: str | None) -> str:
        if modifier == "below":
            return self._prefix("s.value", value)
        if modifier == "above":  # the stored uri is a prefix of the value
            prefixes = [value[:end] for end in range(1, len(value) + 1)]
            return f"s.value IN ({self.params.bind_all(prefixes)})"
        return f"s.value = {self.bind(value)}"


def _all_trigrams(text: str) -> str:
    """An FTS5 query matching rows holding every trigram of ``text`` (each a quoted token)."""
    grams = dict.fromkeys(text[i : i + TRIGRAM] for i in range(len(text) - TRIGRAM + 1))
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)
