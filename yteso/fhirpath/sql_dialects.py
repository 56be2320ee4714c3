"""SQL dialects for the FHIRPath -> SQL compiler: one small class of templates each.

A FHIRPath collection is a JSON list in DuckDB (``JSON[]``, lambdas over it) and a ``jsonb``
array in PostgreSQL (``jsonb_path_query_array``, subqueries over ``jsonb_array_elements``).
Templates are parsed by sqlglot and their ``:name`` placeholders replaced by sqlglot subtrees,
so literals are rendered (escaped) by sqlglot, never pasted in as text.
"""

from __future__ import annotations

import functools
import itertools
from typing import ClassVar

import sqlglot
from sqlglot import exp


@functools.lru_cache(maxsize=512)
def _parsed(template: str, dialect: str) -> exp.Expression:
    tree = sqlglot.parse_one(template, read=dialect)
    assert isinstance(tree, exp.Expression)
    return tree


class Dialect:
    """Templates for one SQL dialect; ``:c`` is a collection, ``:p`` a predicate, ``:s`` text."""

    name: ClassVar[str]
    root: ClassVar[str]
    member: ClassVar[str]
    filter: ClassVar[str]
    first: ClassVar[str]
    count: ClassVar[str]
    join: ClassVar[str]
    text_of: ClassVar[str]
    number_of: ClassVar[str]
    boolean_of: ClassVar[str]
    item_text: ClassVar[str]  # :v is one item
    concat: ClassVar[str]
    single: ClassVar[str]  # a collection of the one JSON item :v
    reference_key: ClassVar[str]
    empty: ClassVar[str]
    whole: ClassVar[exp.Expression]  # the JSON path of a whole item, for item_text

    def __init__(self) -> None:
        self.names = itertools.count(1)

    def build(self, template: str, **parts: exp.Expression) -> exp.Expression:
        tree = _parsed(template, self.name).copy()
        used: set[str] = set()

        def swap(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Placeholder) and node.name in parts:
                # deep copies only for a second use: copying every part at every level made
                # compiling nested paths quadratic (seconds for one view)
                part = parts[node.name] if node.name not in used else parts[node.name].copy()
                used.add(node.name)
                return part
            return node

        return tree.transform(swap, copy=False)

    def variable(self) -> str:
        return f"v{next(self.names)}"

    def path(self, name: str) -> exp.Expression:
        """The JSON path literal selecting element ``name`` of every item."""
        raise NotImplementedError

    def lambda_filter(
        self, collection: exp.Expression, variable: str, predicate: exp.Expression
    ) -> exp.Expression:
        """Keep the items of ``collection`` (each bound to ``variable``) where ``predicate``."""
        raise NotImplementedError

    def item(self, variable: str) -> exp.Expression:
        """The one-item collection of the item bound to ``variable``."""
        raise NotImplementedError

    def element(self, collection: exp.Expression, index: int) -> exp.Expression:
        """The collection of item ``index`` (0-based), empty when out of range."""
        raise NotImplementedError

    def map_items(
        self, collection: exp.Expression, variable: str, value: exp.Expression
    ) -> exp.Expression:
        """``value`` (a JSON item or NULL) of each item bound to ``variable``; NULLs dropped."""
        raise NotImplementedError


class DuckDB(Dialect):
    name = "duckdb"
    root = "[CAST(:c AS JSON)]"
    member = (
        "flatten(list_transform(:c, lambda x: CASE WHEN json_type(x, :k) = 'ARRAY' "
        "THEN CAST(json_extract(x, :k) AS JSON[]) WHEN json_extract(x, :k) IS NULL "
        "OR json_type(x, :k) = 'NULL' THEN [] ELSE [json_extract(x, :k)] END))"
    )
    filter = "list_filter(:c, lambda {v}: :p)"
    first = "list_slice(:c, 1, 1)"
    count = "len(:c)"
    join = "array_to_string(list_transform(:c, lambda x: json_extract_string(x, '$')), :s)"
    text_of = "json_extract_string(:c[1], '$')"
    number_of = "CAST(json_extract_string(:c[1], '$') AS DOUBLE)"
    boolean_of = "CAST(json_extract_string(:c[1], '$') AS BOOLEAN)"
    item_text = "json_extract_string(:v, :k)"
    concat = "list_concat(:a, :b)"
    single = "[:v]"
    reference_key = (
        "list_transform(list_filter(:c, lambda x: json_extract_string(x, '$.reference') "
        "SIMILAR TO :pattern), lambda x: CAST(to_json(regexp_extract("
        "json_extract_string(x, '$.reference'), '([^/]+)(/_history/[^/]+)?$', 1)) AS JSON))"
    )
    empty = "CAST([] AS JSON[])"
    whole = exp.Literal.string("$")

    def path(self, name: str) -> exp.Expression:
        escaped = name.replace('"', '\\"')
        return exp.Literal.string(f'$."{escaped}"')

    def lambda_filter(
        self, collection: exp.Expression, variable: str, predicate: exp.Expression
    ) -> exp.Expression:
        return self.build(self.filter.format(v=variable), c=collection, p=predicate)

    def item(self, variable: str) -> exp.Expression:
        return self.build(self.single, v=exp.column(variable))

    def element(self, collection: exp.Expression, index: int) -> exp.Expression:
        position = exp.Literal.number(index + 1)
        return self.build("list_slice(:c, :i, :i)", c=collection, i=position)

    def map_items(
        self, collection: exp.Expression, variable: str, value: exp.Expression
    ) -> exp.Expression:
        template = (
            f"list_filter(list_transform(:c, lambda {variable}: :x), lambda {variable}: "
            f"{variable} IS NOT NULL)"
        )
        return self.build(template, c=collection, x=value)


class Postgres(Dialect):
    name = "postgres"
    root = "jsonb_build_array(CAST(:c AS JSONB))"
    member = "jsonb_path_query_array(:c, CAST(:k AS JSONPATH))"
    first = "jsonb_path_query_array(:c, '$[0]')"
    count = "jsonb_array_length(:c)"
    join = (
        "(SELECT COALESCE(string_agg(t.value #>> '{}', :s ORDER BY t.ordinality), '') "
        "FROM jsonb_array_elements(:c) WITH ORDINALITY AS t(value, ordinality))"
    )
    text_of = "(:c ->> 0)"
    number_of = "CAST((:c ->> 0) AS DOUBLE PRECISION)"
    boolean_of = "CAST((:c ->> 0) AS BOOLEAN)"
    item_text = "(:v #>> :k)"
    concat = "(:a || :b)"
    single = "jsonb_build_array(:v)"
    reference_key = (
        "(SELECT COALESCE(jsonb_agg(to_jsonb(substring(t.value ->> 'reference' FROM "
        "'([^/]+)(?:/_history/[^/]+)?$')) ORDER BY t.ordinality), '[]'::jsonb) "
        "FROM jsonb_array_elements(:c) WITH ORDINALITY AS t(value, ordinality) "
        "WHERE (t.value ->> 'reference') SIMILAR TO :pattern)"
    )
    empty = "CAST('[]' AS JSONB)"
    whole = exp.Literal.string("{}")

    def path(self, name: str) -> exp.Expression:
        escaped = name.replace('"', '\\"')
        return exp.Literal.string(f'$[*]."{escaped}"[*]')

    def lambda_filter(
        self, collection: exp.Expression, variable: str, predicate: exp.Expression
    ) -> exp.Expression:
        template = (
            "(SELECT COALESCE(jsonb_agg({v}.value ORDER BY {v}.ordinality), '[]'::jsonb) "
            "FROM jsonb_array_elements(:c) WITH ORDINALITY AS {v}(value, ordinality) WHERE :p)"
        )
        return self.build(template.format(v=variable), c=collection, p=predicate)

    def item(self, variable: str) -> exp.Expression:
        return self.build(self.single, v=exp.column("value", table=variable))

    def element(self, collection: exp.Expression, index: int) -> exp.Expression:
        path = exp.Literal.string(f"$[{index}]")
        return self.build("jsonb_path_query_array(:c, CAST(:p AS JSONPATH))", c=collection, p=path)

    def map_items(
        self, collection: exp.Expression, variable: str, value: exp.Expression
    ) -> exp.Expression:
        template = (
            f"(SELECT COALESCE(jsonb_agg(:x ORDER BY {variable}.ordinality) FILTER (WHERE :x "
            f"IS NOT NULL), '[]'::jsonb) FROM jsonb_array_elements(:c) WITH ORDINALITY AS "
            f"{variable}(value, ordinality))"
        )
        return self.build(template, c=collection, x=value)


DIALECTS: dict[str, type[Dialect]] = {"duckdb": DuckDB, "postgres": Postgres}
