"""Multi-row inserts for SQLite's bulk writes (the bulk loader's writer, batched creates).

``executemany`` of a one-row ``INSERT`` runs the statement once per row: a reset, the binding
and a start of the statement's program for each of the ~17 rows a resource writes (history,
current and search rows). The same rows as one ``INSERT ... VALUES (...), (...), ...`` of
:data:`ROWS_PER_STATEMENT` rows pay that once per group: a search-index row cost 1.25 µs of
CPU, 0.93 µs so (a history row with its body, 64 at a time: 4.0 -> 3.05 µs;
docs/benchmarks.md, "SQLWRITER"). The rows, their order and so their rowids are those of the
one-row statement run per row.

The bulk loader's workers send the search rows already cut into groups that share their
``(resource_type, param, pkey)`` (``index_blocks`` format ``groups``: those three values, then
each row's own), so the writer neither builds, unpickles nor flattens a tuple per row, and
binds the shared values once per statement (``?1``..``?3``): :func:`insert_keyed_groups`.
Binding a text value costs SQLite's API a copy, a ``malloc`` and its mutexes (~640
instructions; a quarter of the writer's stream), so the values not bound matter. A chunk's
search rows are then stored per (type, parameter), not per resource: the same rows, other
rowids (a rowid only breaks ties between one resource's rows of equal value when a page is
sorted, ``search_index_pages``, and the rows of one parameter keep their order).
:func:`insert_groups` (one flat list per statement) writes the history rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # index_blocks (imported by sql_backend) imports this module
    from yteso.store.sql_backend import Executor

# Rows per execution (256 gained only 0.02 µs more per row), and at most this many bound values
# per statement: SQLite's limit (SQLITE_MAX_VARIABLE_NUMBER) is 32,766 since 3.32 but was 999
# before, and a system library may be older; 999 still groups 111 history rows of 9 values.
ROWS_PER_STATEMENT = 128
MAX_BOUND_VALUES = 999
_VALUES = re.compile(r"\bVALUES\s*\(", re.IGNORECASE)
# A search row's (resource_type, param, pkey): the values a keyed group's rows share, bound
# once per statement (``index_blocks.value_groups``).
KEY_POSITIONS = (0, 2, 3)
KEY_VALUES = len(KEY_POSITIONS)


def insert_rows(db: Executor, sql: str, rows: Sequence[Sequence[object]]) -> None:
    """Run the one-row ``INSERT ... VALUES (...)`` statement ``sql`` (an upsert clause after
    the values may follow) for every row, in order, :data:`ROWS_PER_STATEMENT` rows at a time
    (fewer for wide rows: :data:`MAX_BOUND_VALUES`); the rest (less than a group) row by row."""
    if not rows:
        return
    width = len(rows[0])
    per_statement = rows_per_statement(width)
    full = len(rows) - len(rows) % per_statement if per_statement > 1 else 0
    if full:
        flat = list(chain.from_iterable(rows[:full]))
        step = width * per_statement
        groups = [flat[start : start + step] for start in range(0, len(flat), step)]
        db.run_many(multi_row_statement(sql, per_statement), groups)
    if full < len(rows):
        db.run_many(sql, rows[full:])


def rows_per_statement(width: int) -> int:
    """How many rows of ``width`` values one multi-row statement inserts."""
    return max(1, min(ROWS_PER_STATEMENT, MAX_BOUND_VALUES // width))


def insert_groups(db: Executor, sql: str, width: int, groups: Sequence[list[object]]) -> None:
    """Insert rows of ``width`` values given as groups of :func:`rows_per_statement` rows'
    values, flattened; the last group may hold fewer rows: those go row by row, as in
    :func:`insert_rows` (the same statements, rows and order)."""
    if not groups:
        return
    per_statement = rows_per_statement(width)
    last = groups[-1]
    full = groups if len(last) == width * per_statement else groups[:-1]
    if full and per_statement > 1:
        db.run_many(multi_row_statement(sql, per_statement), full)
    elif full:
        db.run_many(sql, full)
    if full is not groups:
        db.run_many(sql, [last[start : start + width] for start in range(0, len(last), width)])


def insert_flat(db: Executor, sql: str, width: int, values: list[object]) -> None:
    """Insert rows of ``width`` values given as one flat list, in order: the
    :func:`insert_groups` of its groups (no tuple per row)."""
    step = width * rows_per_statement(width)
    insert_groups(
        db, sql, width, [values[start : start + step] for start in range(0, len(values), step)]
    )


def keyed_rows_per_statement(own: int) -> int:
    """How many rows of ``own`` values each (plus the :data:`KEY_VALUES` they share) one
    keyed statement inserts."""
    return max(1, min(ROWS_PER_STATEMENT, (MAX_BOUND_VALUES - KEY_VALUES) // own))


def insert_keyed_groups(db: Executor, sql: str, width: int, groups: Sequence[list[object]]) -> None:
    """Insert the bulk loader's keyed groups (``index_blocks.value_groups``: the
    :data:`KEY_VALUES` values rows share, then each row's own values) with the one-row search
    insert ``sql`` of ``width`` values. The full groups run as one keyed statement each; the
    rest of a group goes in statements of 64, 32, ... 1 rows (a few cached statements, where a
    statement per count would prepare up to 128 per table)."""
    own = width - KEY_VALUES
    per_statement = keyed_rows_per_statement(own)
    full_size = KEY_VALUES + own * per_statement
    full = [group for group in groups if len(group) == full_size]
    if full:
        db.run_many(keyed_statement(sql, width, per_statement), full)
    for group in groups:
        if len(group) == full_size:
            continue
        key = group[:KEY_VALUES]
        start, end = KEY_VALUES, len(group)
        while start < end:
            count = min(per_statement, 1 << (((end - start) // own).bit_length() - 1))
            stop = start + count * own
            db.run(keyed_statement(sql, width, count), key + group[start:stop])
            start = stop


@lru_cache(maxsize=256)
def keyed_statement(sql: str, width: int, count: int) -> str:
    """The search insert ``sql`` (one ``VALUES`` row of ``width`` plain ``?``, the shared
    values at :data:`KEY_POSITIONS`) for ``count`` rows: the shared values bound once, as
    ``?1``..``?3``, each row's own values numbered after them."""
    found = _VALUES.search(sql)
    if found is None:
        raise ValueError(f"no VALUES row in {sql!r}")
    rows = []
    number = KEY_VALUES
    for _ in range(count):
        marks = []
        for position in range(width):
            if position in KEY_POSITIONS:
                marks.append(f"?{KEY_POSITIONS.index(position) + 1}")
            else:
                number += 1
                marks.append(f"?{number}")
        rows.append(f"({', '.join(marks)})")
    return f"{sql[: found.start()]}VALUES {', '.join(rows)}"


@lru_cache(maxsize=64)
def multi_row_statement(sql: str, count: int) -> str:
    """``sql`` (its ``--`` comment lines dropped) with its one ``VALUES (...)`` row repeated
    ``count`` times."""
    sql = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    found = _VALUES.search(sql)
    if found is None:
        raise ValueError(f"no VALUES row in {sql!r}")
    opening = found.end() - 1
    depth = 0
    for position in range(opening, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[position], 0)
        if depth == 0:
            row = sql[opening : position + 1]
            return f"{sql[:opening]}{', '.join([row] * count)}{sql[position + 1 :]}"
    raise ValueError(f"no VALUES row in {sql!r}")
