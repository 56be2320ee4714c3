"""Custom SearchParameter resources: registered alongside the official R4 ones.

https://hl7.org/fhir/R4/searchparameter.html — a SearchParameter resource stored on the server
(status ``active``, with ``code``, ``base``, ``type`` and ``expression``) takes effect once
registered: :func:`load_custom_parameters` reads them from a store, and ``yteso reindex`` does
so before rebuilding the indexes, so existing resources are indexed for them too.

Registration is held per process (extraction has no store at hand: it runs in bulk-load
workers too), so every process keeps it in step with the database: the store compares a
cheap *signature* of the stored SearchParameters (:func:`sync`, one index-only query) before
each search and each write transaction and re-reads them when it changed; a bulk load hands
its workers the writer's registry with every chunk (:func:`snapshot` / :func:`adopt`).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from functools import cache

from yteso.fhir.definitions import SearchParameterDefinition, resource_types, search_parameters
from yteso.fhir.errors import Issue
from yteso.fhir.types import Json
from yteso.store.base import Store
from yteso.store.param_keys import param_key

_CUSTOM: dict[str, dict[str, SearchParameterDefinition]] = {}
_DEFINITIONS: tuple[SearchParameterDefinition, ...] = ()
# What the registry was read from: (database, signature); None: not read from a database.
_SOURCE: Hashable | None = None
_LOCK = threading.Lock()
#: the registry as handed to another process: (source, definitions)
Snapshot = tuple[Hashable | None, tuple[SearchParameterDefinition, ...]]
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


def stored_names(code: str, definition: SearchParameterDefinition) -> Iterator[str]:
    """Every ``param`` a parameter's index rows may carry: its code, the companion token rows
    (``:identifier``, ``:of-type``) and a composite's components (``code$0``...); a superset."""
    yield from (code, f"{code}:identifier", f"{code}:of-type")
    yield from (f"{code}${position}" for position in range(len(definition.components)))


@cache
def _official_keys() -> dict[int, tuple[str, str]]:
    """The parameter key of every (type, row name) the official parameters store."""
    keys = {}
    for resource_type in sorted(resource_types()):
        names = ["_text", "_content"]
        for code, definition in search_parameters(resource_type).items():
            names.extend(stored_names(code, definition))
        keys.update({param_key(resource_type, name): (resource_type, name) for name in names})
    return keys


def key_clashes(resource: Json) -> list[Issue]:
    """A SearchParameter whose rows would share a parameter key (:mod:`param_keys`) with
    another parameter's is refused: a search by one would read the other's rows."""
    definition = definition_from_resource(resource)
    if definition is None:
        return []
    official = _official_keys()
    custom = {
        param_key(base, name): (base, name)
        for other in _DEFINITIONS
        if other.url != definition.url
        for base in other.base
        for name in stored_names(other.code, other)
    }
    issues = []
    for base in definition.base:
        for name in stored_names(definition.code, definition):
            key = param_key(base, name)
            clash = official.get(key) or custom.get(key)
            if clash is not None and clash != (base, name):
                issues.append(
                    Issue(
                        "error",
                        "business-rule",
                        f"search parameter '{name}' of {base} has the same 64-bit key as "
                        f"'{clash[1]}' of {clash[0]}: choose another code",
                        ("SearchParameter.code",),
                    )
                )
    return issues


def register(definitions: list[SearchParameterDefinition]) -> None:
    """Make ``definitions`` searchable and indexed in this process (replacing earlier ones)."""
    global _DEFINITIONS, _SOURCE
    _DEFINITIONS, _SOURCE = tuple(definitions), None
    _CUSTOM.clear()
    for definition in definitions:
        for base in definition.base:
            _CUSTOM.setdefault(base, {})[definition.code] = definition
    reset_caches()


def reset_caches() -> None:
    """Drop what was derived from the registered parameters: compiled parameters, extraction
    plans, the searchable definitions and the parameters that share rows."""
    from yteso.store import shared_rows
    from yteso.store.index_rows import _PLANS, indexed_params
    from yteso.store.search_compiler import definitions_for

    shared_rows.clear()
    indexed_params.cache_clear()
    _PLANS.clear()  # per-key-set plans hold the compiled parameters
    definitions_for.cache_clear()


def load_custom_parameters(store: Store) -> int:
    """Register the store's SearchParameter resources; returns how many take effect."""
    found = [definition_from_resource(s.resource()) for s in store.iter_current("SearchParameter")]
    definitions = [d for d in found if d is not None]
    register(definitions)
    return len(definitions)


def sync(store: Store, source: Hashable, signature: Hashable) -> bool:
    """Register ``store``'s SearchParameters again when ``signature`` (of database ``source``)
    differs from what this process last read; True when it did."""
    global _SOURCE
    key = (source, signature)
    if key == _SOURCE:
        return False
    with _LOCK:
        if key == _SOURCE:
            return False
        load_custom_parameters(store)
        _SOURCE = key  # read after the signature: a change in between is seen next time
    return True


def snapshot() -> Snapshot:
    """This process's registry, for a bulk load's worker processes."""
    return _SOURCE, _DEFINITIONS


def adopt(given: Snapshot) -> None:
    """In a worker: take the writer's registry when it differs from this process's."""
    global _SOURCE
    source, definitions = given
    if definitions == _DEFINITIONS and source == _SOURCE:
        return
    with _LOCK:
        register(list(definitions))
        _SOURCE = source
