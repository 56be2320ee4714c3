"""Match records: what the master patient index compares, kept beside every current Patient.

The store does not know how patients are compared (``yteso.mpi`` does, one layer aside); the
composition root hands it :class:`StoreHooks`: ``match_entry`` turns a Patient into its blocking
keys and a features text, and the store writes them (tables ``match_record`` and ``match_key``,
migration 0005) in the same transaction as the Patient, on every write path (single writes,
transaction batches, bulk loads). ``before_write`` lets the MPI decide on an incoming Patient
inside that transaction (and set the links it manages) before the version is stamped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from yteso.fhir.types import Json

if TYPE_CHECKING:  # base imports this module: the store's types only for annotations
    from yteso.store.base import StoreSession
    from yteso.store.sql_backend import Backend, Executor

MATCHED_TYPE = "Patient"
#: (blocking keys, features as text); None: the Patient takes no part in matching.
MatchEntry = tuple[tuple[str, ...], str]
MatchEntryOf = Callable[[Json], MatchEntry | None]
BeforeWrite = Callable[["StoreSession", Json, str], Json]
_CHUNK = 500


@dataclass(frozen=True)
class StoreHooks:
    match_entry: MatchEntryOf | None = None
    #: ``(session, patient, id) -> patient to store``: called for every single Patient write.
    before_write: BeforeWrite | None = None
    #: ``(session, id)``: called after a Patient's delete marker is written.
    after_delete: Callable[[StoreSession, str], None] | None = None


NO_HOOKS = StoreHooks()


def write_entries(
    backend: Backend,
    db: Executor,
    entries: Sequence[tuple[str, int | None, MatchEntry | None]],
    replaced: Iterable[str],
) -> None:
    """Replace the match rows of ``replaced`` ids, then insert the given ``(id, Patient
    version, entry)`` (the version the entry was derived from; None: not a stored Patient)."""
    mark = backend.dialect.placeholder
    gone = list(replaced)
    for start in range(0, len(gone), _CHUNK):
        chunk = gone[start : start + _CHUNK]
        marks = ", ".join([mark] * len(chunk))
        db.run(f"DELETE FROM match_key WHERE id IN ({marks})", chunk)
        db.run(f"DELETE FROM match_record WHERE id IN ({marks})", chunk)
    records = [(id, entry[1], version) for id, version, entry in entries if entry is not None]
    keys = sorted({(key, id) for id, _, entry in entries if entry is not None for key in entry[0]})
    if records:
        db.run_many(
            f"INSERT INTO match_record (id, features, version) VALUES ({mark}, {mark}, {mark})",
            records,
        )
    if keys:
        db.run_many(f"INSERT INTO match_key (match_key, id) VALUES ({mark}, {mark})", keys)


def carry_versions(backend: Backend, db: Executor, moves: Sequence[tuple[str, int, int]]) -> None:
    """``(id, old version, new version)`` of Patients rewritten with the same match features
    (only their links changed): a record current at the old version is current at the new."""
    mark = backend.dialect.placeholder
    sql = f"UPDATE match_record SET version = {mark} WHERE id = {mark} AND version = {mark}"
    db.run_many(sql, [(new, id, old) for id, old, new in moves])


def find_candidates(backend: Backend, db: Executor, keys: Sequence[str]) -> list[tuple[str, str]]:
    """(id, features) of every Patient sharing at least one of ``keys``."""
    if not keys:
        return []
    marks = ", ".join([backend.dialect.placeholder] * len(keys))
    sql = (
        "SELECT r.id, r.features FROM match_record r WHERE r.id IN "
        f"(SELECT k.id FROM match_key k WHERE k.match_key IN ({marks})) ORDER BY r.id"
    )
    return [(str(id), str(features)) for id, features in db.rows(sql, list(keys))]


def read_entry(backend: Backend, db: Executor, id: str) -> str | None:
    mark = backend.dialect.placeholder
    rows = db.rows(f"SELECT features FROM match_record WHERE id = {mark}", (id,))
    return str(rows[0][0]) if rows else None


def read_entries_after(
    backend: Backend, db: Executor, after: str, limit: int
) -> list[tuple[str, str]]:
    """A page of ``(id, features)``, in id order, of the ids after ``after``."""
    mark = backend.dialect.placeholder
    sql = f"SELECT id, features FROM match_record WHERE id > {mark} ORDER BY id LIMIT {mark}"
    return [(str(id), str(features)) for id, features in db.rows(sql, (after, limit))]


# Match rows not derived from their Patient's current version (or whose Patient is deleted or
# gone), and current Patients without a row of their version: the rebuild's work.
_STALE = (  # an anti-join (no OR: PostgreSQL would probe per row); a NULL version never joins
    "SELECT m.id FROM match_record m LEFT JOIN resource_current c ON c.resource_type = "
    "'Patient' AND c.id = m.id AND c.version = m.version AND NOT c.deleted WHERE c.id IS NULL"
)
_MISSING = (
    "SELECT c.id FROM resource_current c WHERE c.resource_type = 'Patient' AND NOT c.deleted "
    "AND NOT EXISTS (SELECT 1 FROM match_record m WHERE m.id = c.id AND m.version = c.version) "
    "ORDER BY c.seq"
)


def stale_ids(db: Executor) -> list[str]:
    return [str(row[0]) for row in db.rows(_STALE)]


def missing_ids(db: Executor) -> list[str]:
    """Current Patients without a match row of their version (written without the hooks, or
    taking no part in matching: those are looked at again on every rebuild)."""
    return [str(row[0]) for row in db.rows(_MISSING)]


def clear_all(db: Executor) -> None:
    db.run("DELETE FROM match_key")
    db.run("DELETE FROM match_record")


__all__ = [
    "MATCHED_TYPE",
    "NO_HOOKS",
    "BeforeWrite",
    "MatchEntry",
    "MatchEntryOf",
    "StoreHooks",
    "carry_versions",
    "clear_all",
    "find_candidates",
    "missing_ids",
    "read_entries_after",
    "read_entry",
    "stale_ids",
    "write_entries",
]
