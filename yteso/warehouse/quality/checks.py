"""Data-quality checks as data: each check tests every row of a view and scores the share that
passes, by facility and period.

A check names its view (shipped with the indicators, or inline), which rows it applies to
(``where``), the date that places a row in a period and the facility it is charged to, and one
test:

- ``pass``: filters every applicable row must satisfy (completeness, validity, timeliness);
- ``unique``: a column whose value no other applicable row shares (duplicate citizens: one CCCD
  on several Patients);
- ``resolves``: ``{"column": ..., "view": ...}``, a reference key that must be the ``id`` of a
  row of another view (consistency: references resolve).

``facility`` is a column of the view; with ``subject`` (a patient key column) instead, the row
is charged to the patient's managing organisation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson

from yteso.fhir.errors import Invalid
from yteso.fhir.types import Json
from yteso.warehouse.indicators.definitions import ViewUse, resolve_view, shipped_views
from yteso.warehouse.indicators.filters import column_name, compile_filters

DIMENSIONS = ("completeness", "validity", "timeliness", "uniqueness", "consistency")


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    dimension: str
    view: ViewUse
    date: str | None
    facility: str | None
    subject: str | None
    where: Any
    passes: Any | None
    unique: str | None
    resolves: tuple[str, ViewUse] | None
    source: Json

    @property
    def digest(self) -> str:
        """Changes when the definition does: its results are then recomputed in full."""
        return hashlib.sha256(orjson.dumps(self.source, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def views(self) -> list[ViewUse]:
        return [self.view, *([self.resolves[1]] if self.resolves else [])]

    def summary(self) -> Json:
        return {"id": self.id, "title": self.title, "dimension": self.dimension}


def read_check(data: Any, views: dict[str, Json] | None = None, path: str = "Check") -> Check:
    """Check a data-quality check definition; :class:`Invalid` names the failing element."""
    views = shipped_views() if views is None else views
    if not isinstance(data, dict):
        raise Invalid(f"{path}: expected a JSON object")
    ident, title = data.get("id"), data.get("title")
    if not isinstance(ident, str) or not ident or not all(c.isalnum() or c == "-" for c in ident):
        raise Invalid(f"{path}.id: letters, digits and '-' only")
    if not isinstance(title, str) or not title:
        raise Invalid(f"{path}.title: expected a non-empty string")
    dimension = data.get("dimension")
    if dimension not in DIMENSIONS:
        raise Invalid(f"{path}.dimension: one of {', '.join(DIMENSIONS)}")
    view = resolve_view(data.get("view"), f"{path}.view", views)
    cols = view.columns

    def optional(key: str) -> str | None:
        value = data.get(key)
        return None if value is None else column_name(value, cols, f"{path}.{key}")

    where = data.get("where", [])
    compile_filters(where, cols, "r", f"{path}.where")
    tests = [k for k in ("pass", "unique", "resolves") if k in data]
    if len(tests) != 1:
        raise Invalid(f"{path}: exactly one of pass, unique, resolves")
    passes = data.get("pass")
    if passes is not None:
        compile_filters(passes, cols, "r", f"{path}.pass")
    resolves = None
    if "resolves" in data:
        spec = data["resolves"]
        if not isinstance(spec, dict):
            raise Invalid(f"{path}.resolves: expected an object")
        target = resolve_view(spec.get("view"), f"{path}.resolves.view", views)
        resolves = (column_name(spec.get("column"), cols, f"{path}.resolves.column"), target)
    return Check(
        id=ident,
        title=title,
        dimension=dimension,
        view=view,
        date=optional("date"),
        facility=optional("facility"),
        subject=optional("subject"),
        where=where,
        passes=passes,
        unique=optional("unique"),
        resolves=resolves,
        source=data,
    )


def shipped_checks() -> dict[str, Check]:
    """The checks the platform ships (``yteso/warehouse/quality/checks.json``), by id."""
    raw = (resources.files("yteso.warehouse.quality") / "checks.json").read_bytes()
    views = shipped_views()
    out: dict[str, Check] = {}
    for i, data in enumerate(orjson.loads(raw)):
        check = read_check(data, views, f"checks.json[{i}]")
        if check.id in out:
            raise Invalid(f"checks.json[{i}].id: {check.id} is used twice")
        out[check.id] = check
    return out
