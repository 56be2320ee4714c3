"""Multi-row inserts for SQLite's bulk writes (the bulk loader's writer, batched creates).

``executemany`` of a one-row ``INSERT`` runs the statement once per row: a reset, the binding
and a start of the statement's program for each of the ~17 rows a resource writes (history,
current and search rows). The same rows as one ``INSERT ... VALUES (...), (...), ...`` of
:data:`ROWS_PER_STATEMENT` rows pay that once per group: a search-index row cost 1.25 µs of
CPU, 0.93 µs so (a history row with its body, 64 at a time: 4.0 -> 3.05 µs;
docs/benchmarks.md, "SQLWRITER"). The rows, their order and so their rowids are those of the
one-row statement run per row.

The bulk loader's workers send the search rows already cut into those groups (``index_blocks``
format ``groups``: one flat list of bound values per statement), so the writer neither builds,
unpickles nor flattens a tuple per row: :func:`insert_groups`.
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
