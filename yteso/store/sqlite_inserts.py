"""Multi-row inserts for SQLite's bulk writes (the bulk loader's writer, batched creates).

``executemany`` of a one-row ``INSERT`` runs the statement once per row: a reset, the binding
and a start of the statement's program for each of the ~17 rows a resource writes (history,
current and search rows). The same rows as one ``INSERT ... VALUES (...), (...), ...`` of
:data:`ROWS_PER_STATEMENT` rows pay that once per group: a search-index row cost 1.25 µs of
CPU, 0.93 µs so (a history row with its body 4.0 -> 3.05 µs; docs/benchmarks.md, "SQLWRITER").
The rows, their order and so their rowids are those of the one-row statement run per row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain

from yteso.store.sql_backend import Executor

# Rows per execution: 128 search rows of 6-9 values are ~1,150 bound values, far below
# SQLite's limit of 32,766 (SQLITE_MAX_VARIABLE_NUMBER); 256 gained only 0.02 µs more per row.
ROWS_PER_STATEMENT = 128
_VALUES = re.compile(r"\bVALUES\s*\(", re.IGNORECASE)


def insert_rows(db: Executor, sql: str, rows: Sequence[Sequence[object]]) -> None:
    """Run the one-row ``INSERT ... VALUES (...)`` statement ``sql`` (an upsert clause after
    the values may follow) for every row, in order, :data:`ROWS_PER_STATEMENT` rows at a time;
    the rest (fewer than a group) row by row."""
    full = len(rows) - len(rows) % ROWS_PER_STATEMENT
    if full:
        flat = list(chain.from_iterable(rows[:full]))
        step = len(rows[0]) * ROWS_PER_STATEMENT
        groups = [flat[start : start + step] for start in range(0, len(flat), step)]
        db.run_many(multi_row_statement(sql, ROWS_PER_STATEMENT), groups)
    if full < len(rows):
        db.run_many(sql, rows[full:])


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
