"""``ViewDefinition/$run``: the rows of a SQL-on-FHIR view, over the store or inline resources.

https://sql-on-fhir.org/ig/latest/OperationDefinition-ViewDefinitionRun.html. The view is the
instance (``ViewDefinition/[id]/$run``), or ``viewResource`` / ``viewReference`` at the type
level; parameters come from the query string or a ``Parameters`` body: ``_format``
(json | ndjson | csv | parquet; default json), ``patient`` and ``group`` (only resources in
those patients' compartments), ``_since`` (resources updated at or after), ``_limit`` (at most
so many rows), ``resource`` (run over these resources instead of the store).

Access: the caller needs read access to the view's resource type; when its read access is
narrowed (patient or compartment scopes), the view runs only over the resources the guard
lets it read, one by one, as a search would show them. An unrestricted run over a PostgreSQL
store compiles the view to SQL on the live JSONB store; otherwise DuckDB runs it over the
selected resources.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from yteso.api.exchange import ApiContext, FhirRequest, FhirResponse
from yteso.api.operations import Operation
from yteso.api.search_params import parse_search
from yteso.api.view_definitions import VIEW_TYPE, check_view, stored_view
from yteso.fhir.errors import Forbidden, Invalid
from yteso.fhir.types import Json
from yteso.store.base import StoredVersion
from yteso.warehouse import read_view, run_view, write_rows

FORMATS = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
FORMAT_ALIASES = {
    "application/json": "json",
    "application/fhir+json": "json",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "text/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
}
PAGE = 1000


def _parameters(request: FhirRequest) -> list[tuple[str, Any]]:
    """(name, value) of the query string and of a Parameters body, in order."""
    found: list[tuple[str, Any]] = list(request.params)
    body = request.body
    if body is None:
        return found
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise Invalid("$run takes a Parameters body", expression="resourceType")
    for i, parameter in enumerate(body.get("parameter") or []):
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise Invalid("a parameter needs a name", expression=f"Parameters.parameter[{i}]")
        if "resource" in parameter:
            found.append((parameter["name"], parameter["resource"]))
            continue
        values = [v for k, v in parameter.items() if k.startswith("value")]
        if len(values) != 1:
            raise Invalid(
                "a parameter needs one value[x] or a resource",
                expression=f"Parameters.parameter[{i}]",
            )
        value = values[0]
        if isinstance(value, dict) and "reference" in value:  # valueReference
            value = value["reference"]
        found.append((parameter["name"], value))
    return found


def _one(parameters: list[tuple[str, Any]], name: str) -> Any:
    values = [value for key, value in parameters if key == name]
    if len(values) > 1:
        raise Invalid(f"{name} is given more than once", expression=f"Parameters.{name}")
    return values[0] if values else None


def _view(ctx: ApiContext, request: FhirRequest, parameters: list[tuple[str, Any]]) -> Json:
    inline, reference = _one(parameters, "viewResource"), _one(parameters, "viewReference")
    if request.id is not None:
        if inline is not None or reference is not None:
            raise Invalid("an instance $run takes no viewResource or viewReference")
        return stored_view(ctx, request.id)[1]
    if (inline is None) == (reference is None):
        raise Invalid("$run needs one of viewResource and viewReference")
    if inline is not None:
        return check_view(inline, ctx.resource_types)
    if not isinstance(reference, str):
        raise Invalid("viewReference must be a reference", expression="Parameters.viewReference")
    id = reference.rstrip("/").split("/")[-1]
    if not reference.removesuffix("/" + id).endswith(VIEW_TYPE):
        raise Invalid(
            f"viewReference {reference!r} is not a ViewDefinition",
            expression="Parameters.viewReference",
        )
    return stored_view(ctx, id)[1]


def _format(parameters: list[tuple[str, Any]], accept: str | None) -> str:
    value = _one(parameters, "_format")
    if value is None and accept:
        value = next(
            (FORMAT_ALIASES[m] for m in (p.split(";")[0].strip() for p in accept.split(","))
             if m in FORMAT_ALIASES),
            None,
        )  # fmt: skip
    if value is None:
        return "json"
    chosen = FORMAT_ALIASES.get(str(value).lower(), str(value).lower())
    if chosen not in FORMATS:
        raise Invalid(
            f"_format {value!r}: one of {', '.join(FORMATS)}", expression="Parameters._format"
        )
    return chosen


def _limit(parameters: list[tuple[str, Any]]) -> int | None:
    value = _one(parameters, "_limit")
    if value is None:
        return None
    try:
        limit = int(value)
    except (TypeError, ValueError):
        limit = -1
    if isinstance(value, bool) or limit < 1:
        raise Invalid("_limit must be a positive integer", expression="Parameters._limit")
    return limit


def _since(parameters: list[tuple[str, Any]]) -> datetime | None:
    value = _one(parameters, "_since")
    if value is None:
        return None
    try:
        since = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        raise Invalid("_since must be an instant with its offset", expression="Parameters._since")
    return since


def _patients(ctx: ApiContext, parameters: list[tuple[str, Any]]) -> list[str] | None:
    """The patient ids named by ``patient`` and ``group`` (None: no restriction)."""
    found: list[str] = []
    named = False
    for key, value in parameters:
        if key == "patient":
            named = True
            reference = str(value)
            if not reference.startswith("Patient/"):
                reference = "Patient/" + reference
            found.append(reference.split("/")[1])
        elif key == "group":
            named = True
            group = ctx.read("Group", str(value).removeprefix("Group/"))
            if group.deleted:
                raise Invalid(f"Group {value} is deleted", expression="Parameters.group")
            for member in group.resource().get("member") or []:
                target = (member.get("entity") or {}).get("reference", "")
                if target.startswith("Patient/"):
                    found.append(target.split("/")[1])
    return found if named else None


def _readable(ctx: ApiContext, resource_type: str) -> bool:
    """Whether every resource of the type may be read (else each is checked by the guard)."""
    guard = ctx.guard
    if guard is None:
        return True
    if not guard.grants(resource_type, "r"):
        raise Forbidden(f"The token's scopes do not allow reading {resource_type}")
    return not guard.restricted(resource_type, "r")


def _stored(
    ctx: ApiContext, resource_type: str, patients: list[str] | None
) -> Iterator[StoredVersion]:
    if patients is None:
        yield from ctx.store.iter_current(resource_type)
        return
    supported = ctx.supported_params(resource_type)
    for patient in dict.fromkeys(patients):
        if resource_type == "Patient":
            params: tuple[tuple[str, str], ...] = (("_id", patient),)
        else:
            params = (("_compartment", f"Patient/{patient}"),)
        query = replace(parse_search(params, supported).query, count=PAGE)
        while True:
            result = ctx.store.search(resource_type, query)
            yield from result.matches
            if result.next_cursor is None:
                break
            query = replace(query, cursor=result.next_cursor)


def _rows(ctx: ApiContext, view: Json, parameters: list[tuple[str, Any]]) -> list[Json]:
    resource_type = view["resource"]
    readable = _readable(ctx, resource_type)
    inline = [value for key, value in parameters if key == "resource"]
    since, patients = _since(parameters), _patients(ctx, parameters)
    if inline:
        if not all(isinstance(r, dict) for r in inline):
            raise Invalid("resource parameters must be resources", expression="Parameters.resource")
        return run_view(view, [r for r in inline if r.get("resourceType") == resource_type])
    if readable and since is None and patients is None and ctx.store.url.startswith("postgres"):
        return run_view(view, ctx.store.url)  # SQL on the live JSONB store
    guard = ctx.guard
    seen: set[str] = set()
    resources: list[Json] = []
    for stored in _stored(ctx, resource_type, patients):
        if stored.deleted or stored.id in seen:
            continue
        if since is not None and stored.last_updated < since:
            continue
        if not readable and (guard is None or not guard.visible(stored, "r")):
            continue
        seen.add(stored.id)
        resources.append(stored.resource())
    return run_view(view, resources)


def view_run(ctx: ApiContext, request: FhirRequest) -> FhirResponse:
    parameters = _parameters(request)
    view = _view(ctx, request, parameters)
    chosen = _format(parameters, request.accept)
    limit = _limit(parameters)
    rows = _rows(ctx, view, parameters)
    if limit is not None:
        rows = rows[:limit]
    if chosen == "json":
        body = orjson.dumps(rows)
    else:
        columns = read_view(view).column_names()
        with tempfile.TemporaryDirectory(prefix="yteso-run-") as folder:
            out = Path(folder) / f"rows.{chosen}"
            write_rows(rows, columns, out, chosen)
            body = out.read_bytes()
    return FhirResponse(200, raw=body, headers={"Content-Type": FORMATS[chosen]})


VIEW_RUN = Operation(
    name="run",
    definition="https://sql-on-fhir.org/ig/OperationDefinition/ViewDefinitionRun",
    handler=view_run,
    type=True,
    instance=True,
    resource_types=frozenset({VIEW_TYPE}),
    methods=frozenset({"GET", "POST"}),
    formats=frozenset({*FORMATS, *FORMAT_ALIASES}),
    media_types=frozenset(FORMAT_ALIASES),
)

__all__ = ["VIEW_RUN", "view_run"]
