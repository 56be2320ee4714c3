"""Custom SearchParameter resources: registered alongside the official R4 ones.

https://hl7.org/fhir/R4/searchparameter.html — a SearchParameter resource stored on the server
(status ``active``, with ``code``, ``base``, ``type`` and ``expression``) takes effect once
registered: :func:`load_custom_parameters` reads them from a store, and ``yteso reindex`` does
so before rebuilding the indexes, so existing resources are indexed for them too. Registration
is per process (extraction has no store at hand: it runs in bulk-load workers too).
"""

from __future__ import annotations

from yteso.fhir.definitions import SearchParameterDefinition
from yteso.fhir.types import Json
from yteso.store.base import Store

_CUSTOM: dict[str, dict[str, SearchParameterDefinition]] = {}
_TYPES = frozenset({"string", "token", "date", "number", "quantity", "reference", "uri"})


def custom_parameters(resource_type: str) -> dict[str, SearchParameterDefinition]:
    return _CUSTOM.get(resource_type, {})


def definition_from_resource(resource: Json) -> SearchParameterDefinition | None:
    """The definition a SearchParameter resource declares, or None when it cannot be indexed."""
    code, kind, expression = resource.get("code"), resource.get("type"), resource.get("expression")
    bases = resource.get("base") or []
    if resource.get("status") not in ("active", "draft") or kind not in _TYPES:
        return None
    if not isinstance(code, str) or not isinstance(expression, str) or not bases:
        return None
    return SearchParameterDefinition(
        url=str(resource.get("url") or f"SearchParameter/{resource.get('id')}"),
        code=code,
        name=str(resource.get("name") or code),
        base=tuple(bases),
        type=kind,
        expression=expression,
        full_expression=expression,
        target=tuple(resource.get("target") or ()),
        multiple_or=None,
        multiple_and=None,
        comparator=(),
        modifier=(),
        components=(),
        xpath_usage=None,
    )


def register(definitions: list[SearchParameterDefinition]) -> None:
    """Make ``definitions`` searchable and indexed in this process (replacing earlier ones)."""
    from yteso.store.index_rows import indexed_params
    from yteso.store.search_compiler import definitions_for

    _CUSTOM.clear()
    for definition in definitions:
        for base in definition.base:
            _CUSTOM.setdefault(base, {})[definition.code] = definition
    indexed_params.cache_clear()
    definitions_for.cache_clear()


def load_custom_parameters(store: Store) -> int:
    """Register the store's SearchParameter resources; returns how many take effect."""
    found = [definition_from_resource(s.resource()) for s in store.iter_current("SearchParameter")]
    definitions = [d for d in found if d is not None]
    register(definitions)
    return len(definitions)
