"""One bulk-load chunk's search index rows, made ready for the writer by the worker.

The bulk loader has one writer, so every microsecond it spends per resource caps the load rate.
Workers therefore group a chunk's index rows by table themselves, as the final insert tuples
(SQLite ``executemany``) or as ``COPY`` text (PostgreSQL): the writer only executes them, and
unpickling a few ``bytes`` per table costs nothing next to thousands of tuples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

from yteso.store.copy_format import copy_text
from yteso.store.index_tables import rows_by_table
from yteso.store.index_values import IndexRow

BlockFormat = Literal["rows", "copy"]
Key = tuple[str, str]


class IndexBlock(NamedTuple):
    """``keys``: the resources whose rows the block holds (each once: a resource repeated in
    the chunk keeps only its last version's rows); ``tables``: per index table, insert tuples
    ``(resource_type, id, param, *values)`` or, for ``copy``, the COPY text of those rows."""

    keys: list[Key]
    tables: dict[str, list[tuple[object, ...]]] | dict[str, bytes]


def index_block(entries: Iterable[tuple[str, str, list[IndexRow]]], fmt: BlockFormat) -> IndexBlock:
    """The block of ``(type, id, rows)`` entries, in order; a later entry of the same key
    replaces an earlier one."""
    last: dict[Key, list[IndexRow]] = {}
    for resource_type, id, rows in entries:
        last[(resource_type, id)] = rows
    grouped = rows_by_table((key[0], key[1], rows) for key, rows in last.items())
    keys = list(last)
    if fmt == "rows":
        return IndexBlock(keys, {table: rows for table, rows in grouped.items() if rows})
    return IndexBlock(keys, {table: copy_text(rows) for table, rows in grouped.items() if rows})


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
