"""Compute indicators and data-quality scores in DuckDB, incrementally.

State lives in one DuckDB database (a file, or memory for tests):

- ``v_<view>``: the rows of every view the definitions use, one row per resource, replaced by
  resource id when a resource changes (or removed when it is deleted);
- ``ind_facts``: one row per indicator unit (its key, date, disaggregation keys and whether it
  is in the numerator);
- ``ind_aggregates``: per indicator, period type, period and finest disaggregation (province,
  ward, facility, sex, age group) the numerator and denominator; queries roll these up;
- ``quality_results``: one row per check and tested row (pass or fail);
- ``ind_state``: the ``_lastUpdated`` watermark and the digest of each definition.

A run reads the source's resources changed after the watermark (``meta.lastUpdated``; a
resource without it is always read), works out which units they touch (old and new rows of the
unit and numerator views, units of patients whose demographics changed), recomputes those
units' facts and then only the periods those facts fall in (before or after). A rate's
population denominator is recomputed, every period, for the groups (province, ward, facility,
sex) of changed patients only. Quality results are recomputed for the rows a check may judge
differently (changed rows, their patients, rows sharing a unique value, rows referring to a
changed resource). A changed definition is recomputed in full.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import orjson

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.warehouse.duckdb_views import compile_for_duckdb
from yteso.warehouse.indicators.aggregate_sql import KEYS
from yteso.warehouse.indicators.definitions import (
    PATIENT_VIEW,
    Indicator,
    ViewUse,
    resolve_view,
    shipped_indicators,
    shipped_views,
)
from yteso.warehouse.indicators.filters import (
    literal,
    sql_name,
    view_table,
)
from yteso.warehouse.indicators.recompute import recompute, touched_keys
from yteso.warehouse.quality.checks import Check, shipped_checks
from yteso.warehouse.quality.results import unique_values, update_quality
from yteso.warehouse.view_definition import Select, read_view
from yteso.warehouse.view_sql import SQL_TYPES

WATERMARK = "watermark"


class ResourceFeed(Protocol):
    """A live source (e.g. the store): resources changed after an instant, and deletions."""

    def changed(self, resource_types: Sequence[str], since: str | None) -> Iterable[Json]: ...

    def deleted(
        self, resource_types: Sequence[str], since: str | None
    ) -> Iterable[tuple[str, str]]:
        """(resource type, id) of resources deleted after ``since`` (nothing when None)."""
        ...


@dataclass
class RunReport:
    changed: dict[str, int] = field(default_factory=dict)  # view -> rows read (new or changed)
    deleted: int = 0
    units: dict[str, int] = field(default_factory=dict)  # indicator -> units recomputed
    periods: dict[str, int] = field(default_factory=dict)  # indicator -> periods recomputed
    watermark: str | None = None
    full: bool = False

    def as_json(self) -> Json:
        return {
            "changed": self.changed,
            "deleted": self.deleted,
            "units": self.units,
            "periods": self.periods,
            "watermark": self.watermark,
            "full": self.full,
        }


def _column_types(select: Select) -> list[tuple[str, str]]:
    out = [(c.name, SQL_TYPES.get(c.type or "", "VARCHAR")) for c in select.columns]
    for child in select.selects:
        out.extend(_column_types(child))
    if select.union_all:
        out.extend(_column_types(select.union_all[0]))
    return out


class IndicatorWarehouse:
    """Indicator aggregates and quality results kept in one DuckDB database."""

    def __init__(
        self,
        database: str | Path = ":memory:",
        *,
        indicators: dict[str, Indicator] | None = None,
        checks: dict[str, Check] | None = None,
        read_only: bool = False,
    ) -> None:
        self.indicators = shipped_indicators() if indicators is None else indicators
        self.checks = shipped_checks() if checks is None else checks
        self.con = duckdb.connect(str(database), read_only=read_only)
        self.patient = resolve_view(PATIENT_VIEW, "patient view", shipped_views())
        views: dict[str, ViewUse] = {self.patient.name: self.patient}
        uses = [u for i in self.indicators.values() for u in i.views()]
        uses += [u for c in self.checks.values() for u in c.views()]
        for use in uses:
            known = views.setdefault(use.name, use)
            if known.definition != use.definition:
                raise Invalid(f"two different views are named {use.name}")
        self.views = views
        if not read_only:
            self._create_tables()

    def close(self) -> None:
        self.con.close()

    # -- state -------------------------------------------------------------------------------

    def _create_tables(self) -> None:
        keys = ", ".join(f"{k} VARCHAR" for k in KEYS)
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS ind_state (name VARCHAR PRIMARY KEY, value VARCHAR)"
        )
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS ind_facts (indicator VARCHAR, key VARCHAR, "
            f"subject VARCHAR, anchor DATE, {keys}, num INTEGER)"
        )
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS ind_aggregates (indicator VARCHAR, period_type VARCHAR, "
            f"period VARCHAR, period_start DATE, {keys}, numerator BIGINT, denominator BIGINT)"
        )
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS quality_results (check_id VARCHAR, dimension VARCHAR, "
            "id VARCHAR, day DATE, facility VARCHAR, passed BOOLEAN)"
        )
        for use in self.views.values():
            columns = _column_types(read_view(use.definition).root)
            listed = ", ".join(f"{sql_name(name)} {kind}" for name, kind in columns)
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {self._table(use)} ({listed})")

    def _table(self, use: ViewUse) -> str:
        return view_table(use)

    def state(self, name: str) -> str | None:
        row = self.con.execute("SELECT value FROM ind_state WHERE name = ?", [name]).fetchone()
        return None if row is None else str(row[0])

    def _set_state(self, name: str, value: str | None) -> None:
        self.con.execute("DELETE FROM ind_state WHERE name = ?", [name])
        if value is not None:
            self.con.execute("INSERT INTO ind_state VALUES (?, ?)", [name, value])

    # -- runs --------------------------------------------------------------------------------

    def run(self, source: Any, *, full: bool = False) -> RunReport:
        """Bring every indicator and check up to date with ``source``.

        ``source``: an NDJSON file or folder (e.g. a Bulk Data export), Parquet, an iterable of
        resources, or a :class:`ResourceFeed`. ``full``: forget the state and recompute all.
        """
        report = RunReport(full=full)
        if full:
            self._reset()
        watermark = self.state(WATERMARK)
        scratch = None
        deleted: list[tuple[str, str]] = []
        types = sorted({read_view(u.definition).resource for u in self.views.values()})
        try:
            if isinstance(source, (str, Path)):
                path: Path = Path(source)
            else:
                scratch = Path(tempfile.mkdtemp(prefix="yteso-indicators-"))
                if hasattr(source, "changed"):
                    feed: ResourceFeed = source
                    resources_ = feed.changed(types, watermark)
                    deleted = list(feed.deleted(types, watermark))
                else:
                    resources_ = source
                self._write_ndjson(resources_, scratch, types)
                path = scratch
            with self._transaction():
                self._run(path, watermark, deleted, report, scratch is not None)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        report.watermark = self.state(WATERMARK)
        return report

    def _reset(self) -> None:
        for table in ("ind_state", "ind_facts", "ind_aggregates", "quality_results"):
            self.con.execute(f"DELETE FROM {table}")
        for use in self.views.values():
            self.con.execute(f"DELETE FROM {self._table(use)}")

    def _transaction(self) -> Any:
        con = self.con

        class _Tx:
            def __enter__(self) -> None:
                con.execute("BEGIN TRANSACTION")

            def __exit__(self, kind: object, *_: object) -> None:
                con.execute("ROLLBACK" if kind else "COMMIT")

        return _Tx()

    @staticmethod
    def _write_ndjson(resources_: Iterable[Json], folder: Path, types: list[str]) -> None:
        """Resources of the wanted types as ``<Type>.ndjson`` files, for DuckDB to read."""
        files: dict[str, Any] = {}
        try:
            for resource in resources_:
                kind = resource.get("resourceType")
                if kind not in types:
                    continue
                out = files.get(kind)
                if out is None:
                    out = files[kind] = (folder / f"{kind}.ndjson").open("wb")
                out.write(orjson.dumps(resource) + b"\n")
        finally:
            for out in files.values():
                out.close()

    def _delta(self, use: ViewUse, path: Path, watermark: str | None, scratch: bool) -> str:
        """A temp table of the view's rows over the source, changed after the watermark."""
        name = sql_name(f"delta_{use.name}")
        columns = _column_types(read_view(use.definition).root)
        listed = ", ".join(
            f"CAST(q.{sql_name(c)} AS {kind}) AS {sql_name(c)}" for c, kind in columns
        )
        resource = read_view(use.definition).resource
        empty = scratch and not (path / f"{resource}.ndjson").exists()
        if empty or (path.is_dir() and not any(path.iterdir())):
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {self._table(use)} LIMIT 0"
            )
            return name
        plan = compile_for_duckdb(read_view(use.definition), self.con, path)
        newer = "TRUE"
        if watermark is not None:
            newer = (
                "q.last_updated IS NULL OR TRY_CAST(q.last_updated AS TIMESTAMPTZ) > "
                f"CAST({literal(watermark, 'watermark')} AS TIMESTAMPTZ)"
            )
        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {listed} "
                f"FROM ({plan.sql}) q WHERE {newer}"
            )
        except duckdb.Error as error:
            raise Invalid(f"the view {use.name} failed on the source: {error}") from error
        return name

    def _run(
        self,
        path: Path,
        watermark: str | None,
        deleted: list[tuple[str, str]],
        report: RunReport,
        scratch: bool,
    ) -> None:
        con = self.con
        changed: dict[str, str] = {}  # view name -> temp table of changed ids
        deltas: dict[str, str] = {}
        for use in self.views.values():
            deltas[use.name] = self._delta(use, path, watermark, scratch)
            resource = read_view(use.definition).resource
            gone = [rid for kind, rid in deleted if kind == resource]
            ids = sql_name(f"changed_{use.name}")
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {ids} AS SELECT DISTINCT id FROM {deltas[use.name]}"
            )
            if gone:
                con.executemany(f"INSERT INTO {ids} VALUES (?)", [[g] for g in gone])
            changed[use.name] = ids
            count = con.execute(f"SELECT count(*) FROM {deltas[use.name]}").fetchone()
            report.changed[use.name] = int(count[0]) if count else 0
        report.deleted = len(deleted)
        touched_patients = con.execute(f"SELECT count(*) FROM {changed[PATIENT_VIEW]}").fetchone()
        patients_changed = bool(touched_patients and touched_patients[0])
        stale = {
            ident
            for ident, ind in self.indicators.items()
            if self.state(f"digest:{ident}") != ind.digest
        }
        for ident, ind in self.indicators.items():
            if ident not in stale:
                touched_keys(self.con, ind, deltas, changed, everything=False)
        # Residence, facility and sex of changed patients, before and after: the groups whose
        # population (a rate's denominator) may change.
        people = (
            f"SELECT DISTINCT province, ward, facility, gender AS sex FROM "
            f"{self._table(self.patient)} WHERE id IN (SELECT id FROM {changed[PATIENT_VIEW]})"
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE affected_people AS {people}")
        stale_checks = {
            ident for ident, check in self.checks.items()
            if self.state(f"check:{ident}") != check.digest
        }  # fmt: skip
        for check in self.checks.values():
            if check.unique and check.id not in stale_checks:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {sql_name('values_' + check.id)} AS "
                    f"{unique_values(check, changed)}"
                )
        # Old rows are gone from the touched sets' point of view: now replace them.
        for use in self.views.values():
            table = self._table(use)
            con.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM {changed[use.name]})")
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {deltas[use.name]}")
        con.execute(f"INSERT INTO affected_people {people}")
        for check in self.checks.values():
            if check.unique and check.id not in stale_checks:
                con.execute(
                    f"INSERT INTO {sql_name('values_' + check.id)} {unique_values(check, changed)}"
                )
        for ident, ind in self.indicators.items():
            if ident in stale:  # a new or changed definition: every unit, after the upsert
                touched_keys(self.con, ind, deltas, changed, everything=True)
            units, periods = recompute(con, ind, self.patient, ident in stale, patients_changed)
            report.units[ident], report.periods[ident] = units, periods
            self._set_state(f"digest:{ident}", ind.digest)
        update_quality(con, self.checks, self.patient, changed, stale_checks)
        for check in self.checks.values():
            self._set_state(f"check:{check.id}", check.digest)
        newest = [
            f"SELECT max(TRY_CAST(last_updated AS TIMESTAMPTZ)) AS t FROM {d}"
            for d in deltas.values()
        ]
        row = con.execute(f"SELECT max(t) FROM ({' UNION ALL '.join(newest)})").fetchone()
        latest = row[0] if row else None
        if latest is not None:
            text = latest.isoformat()
            later = con.execute(
                "SELECT CAST(? AS TIMESTAMPTZ) > CAST(? AS TIMESTAMPTZ)", [text, watermark]
            ).fetchone()
            if watermark is None or (later is not None and later[0]):
                self._set_state(WATERMARK, text)
