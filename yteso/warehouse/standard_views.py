"""The ViewDefinitions the platform ships (``yteso/warehouse/views/*.json``).

https://sql-on-fhir.org/ig/latest/StructureDefinition-ViewDefinition.html. They are data, so an
operator reads and changes them like any other view; benchmarks and tests use them too.
"""

from __future__ import annotations

from importlib import resources

import orjson

from yteso.fhir.errors import NotFound
from yteso.fhir.types import Json


def standard_view_names() -> list[str]:
    folder = resources.files("yteso.warehouse") / "views"
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


def standard_view(name: str) -> Json:
    """The shipped view ``name`` (e.g. ``patient_demographics``, ``observation``)."""
    if name not in standard_view_names():
        raise NotFound(f"no standard view {name}")
    data = (resources.files("yteso.warehouse") / "views" / f"{name}.json").read_bytes()
    view: Json = orjson.loads(data)
    return view
