"""Indicator definitions as data (JSON), in the spirit of DHIS2's indicators.

An indicator counts **units** (rows of a SQL-on-FHIR view: patients, conditions, encounters),
each with a **date** that places it in a period and a **subject** (the patient, whose residence,
sex and age disaggregate it):

- ``proportion``: denominator = the units kept by ``unit.where``; numerator = those of them that
  also pass ``numerator``: filters on the unit's own row, or the existence of a row of another
  view (``numerator.view``) whose ``match`` column equals the unit key and that passes
  ``numerator.where`` (which may compare a date with the unit's date: ``"anchor": true``).
- ``rate``: numerator = the units; denominator = the population (patients born by the end of
  the period and alive at its start), value = numerator / population x ``factor``.

Views are named shipped views (``yteso/warehouse/indicators/views``) or inline
ViewDefinitions; each has an ``id`` column (``getResourceKey()``) and a ``last_updated`` column
(``meta.lastUpdated``), which incremental runs rely on. See docs/indicators.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson

from yteso.fhir.errors import Invalid, NotFound
from yteso.fhir.types import Json
from yteso.warehouse.indicators.filters import column_name, compile_filters
from yteso.warehouse.view_definition import View, read_view

KINDS = ("proportion", "rate")
DEFAULT_AGE_GROUPS = (0, 1, 5, 15, 25, 45, 65)
PATIENT_VIEW = "ind_patient"
REQUIRED_COLUMNS = ("id", "last_updated")
PATIENT_COLUMNS = ("birth_date", "gender", "province", "ward", "facility", "deceased")


def _package_json(folder: str) -> dict[str, Json]:
    base = resources.files("yteso.warehouse.indicators") / folder
    out: dict[str, Json] = {}
    for item in sorted(base.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            data: Json = orjson.loads(item.read_bytes())
            out[item.name.removesuffix(".json")] = data
    return out


def shipped_views() -> dict[str, Json]:
    """The ViewDefinitions indicators and checks are built on, by name."""
    return _package_json("views")


@dataclass(frozen=True)
class ViewUse:
    """A view an indicator or check reads, checked and with its column names."""

    name: str
    definition: Json
    columns: tuple[str, ...]


def resolve_view(spec: Any, path: str, views: dict[str, Json]) -> ViewUse:
    """A view named ``spec`` (shipped) or given inline as a ViewDefinition."""
    if isinstance(spec, str):
        if spec not in views:
            raise Invalid(f"{path}: unknown view {spec!r} (known: {', '.join(sorted(views))})")
        definition = views[spec]
    elif isinstance(spec, dict):
        definition = spec
    else:
        raise Invalid(f"{path}: a view name or an inline ViewDefinition")
    try:
        checked: View = read_view(definition)
    except Invalid as error:
        raise Invalid(f"{path}: {error}") from error
    name = definition.get("name")
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise Invalid(f"{path}.name: an inline view needs a lower-case identifier as name")
    columns = tuple(checked.column_names())
    for required in REQUIRED_COLUMNS:
        if required not in columns:
            raise Invalid(f"{path}: the view {name} needs an {required!r} column")
    return ViewUse(name, definition, columns)


@dataclass(frozen=True)
class Numerator:
    view: ViewUse | None  # None: filters on the unit's own row
    match: str | None
    where: Any


@dataclass(frozen=True)
class Indicator:
    id: str
    title: str
    description: str
    kind: str
    factor: float
    unit: ViewUse
    key: str
    subject: str
    date: str
    date_offset_months: int
    facility: str | None  # unit column; None: the patient's managing organisation
    where: Any
    numerator: Numerator | None
    population_where: Any
    age_groups: tuple[int, ...]
    periods: tuple[str, ...]
    source: Json

    @property
    def digest(self) -> str:
        """Changes when the definition does: the stored aggregates are then rebuilt."""
        return hashlib.sha256(orjson.dumps(self.source, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def views(self) -> list[ViewUse]:
        used = [self.unit]
        if self.numerator and self.numerator.view:
            used.append(self.numerator.view)
        return used

    def summary(self) -> Json:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "kind": self.kind,
            "factor": self.factor,
            "periods": list(self.periods),
            "disaggregations": ["province", "ward", "facility", "sex", "age_group"],
        }


PERIODS = ("week", "month", "quarter", "year")


def _text(data: Json, key: str, path: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise Invalid(f"{path}.{key}: expected a non-empty string")
    return value


def read_indicator(data: Any, views: dict[str, Json] | None = None) -> Indicator:
    """Check an indicator definition; :class:`Invalid` names the failing element."""
    views = shipped_views() if views is None else views
    if not isinstance(data, dict):
        raise Invalid("Indicator: expected a JSON object")
    ident = _text(data, "id", "Indicator")
    if not all(c.isalnum() or c == "-" for c in ident):
        raise Invalid("Indicator.id: letters, digits and '-' only")
    kind = data.get("kind")
    if kind not in KINDS:
        raise Invalid(f"Indicator.kind: one of {', '.join(KINDS)}")
    factor = data.get("factor", 100)
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor <= 0:
        raise Invalid("Indicator.factor: a positive number")
    unit_spec = data.get("unit")
    if not isinstance(unit_spec, dict):
        raise Invalid("Indicator.unit: expected an object")
    unit = resolve_view(unit_spec.get("view"), "Indicator.unit.view", views)
    cols = unit.columns
    key = column_name(unit_spec.get("key", "id"), cols, "Indicator.unit.key")
    subject = column_name(unit_spec.get("subject"), cols, "Indicator.unit.subject")
    date = column_name(unit_spec.get("date"), cols, "Indicator.unit.date")
    facility = unit_spec.get("facility")
    if facility is not None:
        facility = column_name(facility, cols, "Indicator.unit.facility")
    offset = unit_spec.get("date_offset_months", 0)
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise Invalid("Indicator.unit.date_offset_months: a whole number")
    where = unit_spec.get("where", [])
    compile_filters(where, cols, "u", "Indicator.unit.where", anchor="anchor")
    numerator = None
    if kind == "proportion":
        numerator = _numerator(data.get("numerator"), unit, views)
    elif "numerator" in data:
        raise Invalid("Indicator.numerator: a rate counts its units; give no numerator")
    population = data.get("population", {})
    if not isinstance(population, dict):
        raise Invalid("Indicator.population: expected an object")
    patient = resolve_view(PATIENT_VIEW, "Indicator.population", views)
    population_where = population.get("where", [])
    compile_filters(population_where, patient.columns, "p", "Indicator.population.where")
    ages = data.get("age_groups", list(DEFAULT_AGE_GROUPS))
    if (
        not isinstance(ages, list)
        or not ages
        or ages[0] != 0
        or any(not isinstance(a, int) for a in ages)
        or sorted(set(ages)) != ages
    ):
        raise Invalid("Indicator.age_groups: increasing whole years starting at 0")
    periods = data.get("periods", list(PERIODS))
    if not isinstance(periods, list) or not periods or set(periods) - set(PERIODS):
        raise Invalid(f"Indicator.periods: some of {', '.join(PERIODS)}")
    return Indicator(
        id=ident,
        title=_text(data, "title", "Indicator"),
        description=str(data.get("description", "")),
        kind=kind,
        factor=float(factor),
        unit=unit,
        key=key,
        subject=subject,
        date=date,
        date_offset_months=offset,
        facility=facility,
        where=where,
        numerator=numerator,
        population_where=population_where,
        age_groups=tuple(ages),
        periods=tuple(periods),
        source=data,
    )


def _numerator(spec: Any, unit: ViewUse, views: dict[str, Json]) -> Numerator:
    if not isinstance(spec, dict):
        raise Invalid("Indicator.numerator: a proportion needs a numerator object")
    where = spec.get("where", [])
    if "view" not in spec:
        compile_filters(where, unit.columns, "u", "Indicator.numerator.where")
        return Numerator(None, None, where)
    view = resolve_view(spec["view"], "Indicator.numerator.view", views)
    match = column_name(spec.get("match"), view.columns, "Indicator.numerator.match")
    compile_filters(where, view.columns, "n", "Indicator.numerator.where", anchor="anchor")
    return Numerator(view, match, where)


def shipped_indicators() -> dict[str, Indicator]:
    """The indicators the platform ships, by id."""
    views = shipped_views()
    out = {}
    for name, data in _package_json("definitions").items():
        indicator = read_indicator(data, views)
        if indicator.id != name:
            raise Invalid(f"definitions/{name}.json: its id is {indicator.id}")
        out[indicator.id] = indicator
    return out


def indicator(ident: str, indicators: dict[str, Indicator] | None = None) -> Indicator:
    found = (indicators or shipped_indicators()).get(ident)
    if found is None:
        raise NotFound(f"no indicator {ident}")
    return found
