"""``_include`` and ``_revinclude`` (with ``:iterate`` and ``*``): resources a page refers to,
or that refer to it, found through the reference index.

https://hl7.org/fhir/R4/search.html#include. Included resources are not counted in the total and
do not affect paging; they come back as ``SearchResult.included`` (``search.mode = include``).
"""

from __future__ import annotations

from yteso.fhir.errors import Invalid
from yteso.store.base import SearchParam, StoredVersion
from yteso.store.shared_rows import row_source, rows_test
from yteso.store.sql_backend import Backend, Executor
from yteso.store.sql_dialect import SqlParams

MAX_INCLUDED = 1000
MAX_ITERATIONS = 4
_COLUMNS = "c.resource_type, c.id, c.version, c.last_updated, h.body, h.method"


def _parse(value: str, name: str) -> tuple[str, str, str | None]:
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise Invalid(f"{name}: {value!r} is not Type:parameter[:TargetType]", expression=name)
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def _param_test(params: SqlParams, source_type: str, code: str) -> str:
    """The reference rows of ``code``: another parameter's, by target type, where it shares
    them (:mod:`shared_rows`)."""
    return rows_test(source_type, row_source(source_type, code, "reference"), "r", params.bind)


def _include_sql(
    params: SqlParams, source_type: str, code: str, target: str | None, ids: list[str]
) -> str:
    tests = [f"r.resource_type = {params.bind(source_type)}"]
    tests.append(f"r.id IN ({params.bind_all(ids)})")
    if code != "*":
        tests.append(_param_test(params, source_type, code))
    if target is not None:
        tests.append(f"r.target_type = {params.bind(target)}")
    return (
        f"SELECT DISTINCT {_COLUMNS} FROM search_reference r JOIN resource_current c"
        " ON c.resource_type = r.target_type AND c.id = r.target_id"
        f" JOIN resource_history h ON h.seq = c.seq WHERE NOT c.deleted AND {' AND '.join(tests)}"
    )


def _revinclude_sql(
    params: SqlParams, source_type: str, code: str, target: str, ids: list[str]
) -> str:
    tests = [f"r.resource_type = {params.bind(source_type)}"]
    if code != "*":
        tests.append(_param_test(params, source_type, code))
    tests.append(f"r.target_type = {params.bind(target)}")
    tests.append(f"r.target_id IN ({params.bind_all(ids)})")
    return (
        f"SELECT DISTINCT {_COLUMNS} FROM search_reference r JOIN resource_current c"
        " ON c.resource_type = r.resource_type AND c.id = r.id"
        f" JOIN resource_history h ON h.seq = c.seq WHERE NOT c.deleted AND {' AND '.join(tests)}"
    )


def included_versions(
    backend: Backend, db: Executor, params: tuple[SearchParam, ...], matches: list[StoredVersion]
) -> list[StoredVersion]:
    """Every resource the page's ``_include``/``_revinclude`` parameters bring in, once."""
    from yteso.store.sql_reads import stored_from_row

    wanted = [p for p in params if p.name in ("_include", "_revinclude")]
    if not wanted or not matches:
        return []
    seen = {(m.resource_type, m.id) for m in matches}
    found: list[StoredVersion] = []
    frontier = list(matches)
    for iteration in range(MAX_ITERATIONS):
        fresh: list[StoredVersion] = []
        for param in wanted:
            if iteration > 0 and param.modifier != "iterate":
                continue
            for value in param.values:
                for row in _run_one(backend, db, param.name, value, frontier):
                    stored = stored_from_row(backend, row)
                    if (stored.resource_type, stored.id) not in seen:
                        seen.add((stored.resource_type, stored.id))
                        fresh.append(stored)
        found.extend(fresh)
        if not fresh or len(found) >= MAX_INCLUDED:
            break
        frontier = fresh
    return found[:MAX_INCLUDED]


def _run_one(
    backend: Backend, db: Executor, name: str, value: str, frontier: list[StoredVersion]
) -> list[tuple[object, ...]]:
    source_type, code, target = _parse(value, name)
    params = SqlParams(backend.dialect)
    if name == "_include":
        ids = [m.id for m in frontier if m.resource_type == source_type]
        if not ids:
            return []
        sql = _include_sql(params, source_type, code, target, ids)
    else:
        types = {m.resource_type for m in frontier} if target is None else {target}
        rows: list[tuple[object, ...]] = []
        for target_type in sorted(types):
            ids = [m.id for m in frontier if m.resource_type == target_type]
            if ids:
                inner = SqlParams(backend.dialect)
                sql = _revinclude_sql(inner, source_type, code, target_type, ids)
                rows.extend(db.rows(sql, inner.values))
        return rows
    return db.rows(sql, params.values)
