"""One bulk-load chunk's search index rows, made ready for the writer by the worker.

The bulk loader has one writer, so every microsecond it spends per resource caps the load rate.
Workers therefore group a chunk's index rows by table themselves, as the final insert tuples
(``rows``), as ``COPY`` text (``copy``, PostgreSQL) or as the bound values of SQLite's multi-row
inserts (``groups``, ``sqlite_inserts``): the writer only executes them. Unpickling a few
``bytes`` per table costs nothing next to thousands of tuples, and a flat list of values per
statement costs the SQLite writer ~11 µs per resource where a tuple per row, unpickled,
flattened and freed, cost ~33 (docs/benchmarks.md, "sqlw2"). Since session 12 SQLite's groups
are keyed: the rows of one (type, parameter) share a group, whose statement binds the type,
the parameter and its key once instead of per row (3 of a row's ~7 values: ~13 % fewer
instructions in the writer's stream, and smaller pickles).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, Literal, NamedTuple

from yteso.native import c_extension
from yteso.store.copy_format import copy_tables
from yteso.store.index_tables import rows_by_table
from yteso.store.index_values import IndexRow
from yteso.store.param_keys import keys_of, param_key
from yteso.store.sqlite_inserts import KEY_VALUES, keyed_rows_per_statement

BlockFormat = Literal["rows", "copy", "groups"]
Key = tuple[str, str]


class IndexBlock(NamedTuple):
    """``keys``: the resources whose rows the block holds (each once: a resource repeated in
    the chunk keeps only its last version's rows); ``tables``: per index table, insert tuples
    ``(resource_type, id, param, pkey, *values)``, for ``copy`` the COPY text of those rows, for
    ``groups`` those rows in groups sharing ``(resource_type, param, pkey)``
    (:func:`value_groups`)."""

    keys: list[Key]
    tables: dict[str, list[tuple[object, ...]]] | dict[str, bytes] | dict[str, list[list[object]]]


def index_block(entries: Iterable[tuple[str, str, list[IndexRow]]], fmt: BlockFormat) -> IndexBlock:
    """The block of ``(type, id, rows)`` entries, in order; a later entry of the same key
    replaces an earlier one."""
    last: dict[Key, list[IndexRow]] = {}
    for resource_type, id, rows in entries:
        last[(resource_type, id)] = rows
    keys = list(last)
    if fmt == "groups":
        return IndexBlock(keys, value_groups((key[0], key[1], rows) for key, rows in last.items()))
    if fmt == "copy":
        return IndexBlock(keys, copy_tables((key[0], key[1], rows) for key, rows in last.items()))
    grouped = rows_by_table((key[0], key[1], rows) for key, rows in last.items())
    return IndexBlock(keys, {table: rows for table, rows in grouped.items() if rows})


# The C twin of python_value_groups (``_blocks.c``), None when the Python runs (docs/dev/native.md).
_NATIVE: Final = c_extension("yteso.store._blocks")


def value_groups(
    entries: Iterable[tuple[str, str, list[IndexRow]]],
) -> dict[str, list[list[object]]]:
    """Per table, the rows cut into keyed groups: :func:`python_value_groups`.

    Built in C (``_blocks.value_groups``) when the compiled build is current; the C twin
    answers None for what the loader does not make (a subclass, rows of another shape), and
    :func:`python_value_groups`, the reference, answers or raises then."""
    listed = list(entries)
    if _NATIVE is not None:
        groups: dict[str, list[list[object]]] | None = _NATIVE.value_groups(
            listed, keys_of, param_key, keyed_rows_per_statement, KEY_VALUES
        )
        if groups is not None:
            return groups
    return python_value_groups(listed)


def python_value_groups(
    entries: Iterable[tuple[str, str, list[IndexRow]]],
) -> dict[str, list[list[object]]]:
    """:func:`value_groups` in Python: the reference its C twin must equal.

    Per table, the rows ``(resource_type, id, param, pkey, *values)`` cut into groups that
    share ``(resource_type, param, pkey)``: each group is those three values, then each row's
    ``(id, *values)``, at most :func:`keyed_rows_per_statement` rows (``sqlite_inserts``).
    Groups are listed in the order they were opened; a key's rows keep the entries' order."""
    groups: dict[str, list[list[object]]] = {}
    # open groups by type, table and parameter: nested string keys, not a (table, type, param)
    # tuple made, hashed and compared per row (~2k instructions per resource)
    open_groups: dict[str, dict[str, dict[str, list[object]]]] = {}
    sizes: dict[str, int] = {}  # values per full group
    for resource_type, id, rows in entries:
        keys = keys_of(resource_type)  # the parameter keys, computed once per (type, param)
        by_table = open_groups.get(resource_type)
        if by_table is None:
            by_table = open_groups[resource_type] = {}
        for table, param, values in rows:
            by_param = by_table.get(table)
            if by_param is None:
                by_param = by_table[table] = {}
            group = by_param.get(param)
            if group is None or len(group) >= sizes[table]:
                pkey = keys.get(param)
                if pkey is None:
                    pkey = keys[param] = param_key(resource_type, param)
                if table not in sizes:
                    own = 1 + len(values)  # the id and the values
                    sizes[table] = KEY_VALUES + own * keyed_rows_per_statement(own)
                group = by_param[param] = [resource_type, param, pkey]
                groups.setdefault(table, []).append(group)
            group.append(id)
            group.extend(values)
    return groups


def merged_blocks(blocks: Sequence[IndexBlock]) -> IndexBlock:
    """One ``copy`` block holding the ``copy`` blocks' rows in order (blocks without common
    keys: the rows of a key are only in the block that holds it)."""
    texts: dict[str, list[bytes]] = {}
    for block in blocks:
        for table, values in block.tables.items():
            if not isinstance(values, bytes):
                raise TypeError("only COPY blocks are merged")
            texts.setdefault(table, []).append(values)
    keys = [key for block in blocks for key in block.keys]
    return IndexBlock(keys, {table: b"".join(parts) for table, parts in texts.items()})
