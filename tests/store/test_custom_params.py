"""Custom SearchParameters reach every process of a database, on both backends.

A SearchParameter stored through one store instance (one server process) is searched and
indexed by another instance on the same database — another thread's store, another process,
a bulk load's worker processes — without a restart (``custom_params.sync``).
https://hl7.org/fhir/R4/searchparameter.html
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.search_fixtures import ETHNIC, ETHNIC_SEARCH_PARAMETER
from yteso.fhir.errors import Invalid
from yteso.store import SearchParam, SearchQuery, SqlStore, load_paths, open_store
from yteso.store.custom_params import register, snapshot
from yteso.store.reindex import reindex

DEFINITION = ETHNIC_SEARCH_PARAMETER


def _patient(id: str, ethnic: str) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "id": id,
        "extension": [{"url": ETHNIC, "valueCode": ethnic}],
    }


def _ethnic(store: SqlStore, value: str) -> set[str]:
    query = SearchQuery(params=(SearchParam("ethnic", (value,)),))
    return {m.id for m in store.search("Patient", query).matches}


def _fresh_process() -> None:
    """What another process holds before it looks at the database: no custom parameters."""
    register([])


@pytest.fixture
def stores(store_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    first, second = open_store(store_url), open_store(store_url)
    yield first, second
    register([])  # the registry is per process: leave none behind for other tests
    first.close()
    second.close()


def test_another_store_searches_and_indexes_a_new_parameter(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    first, second = stores
    first.bulk_write([_patient("p1", "kinh"), _patient("p2", "tay")])
    _fresh_process()
    with pytest.raises(Invalid, match="ethnic"):
        _ethnic(second, "kinh")
    with first.session() as session:
        session.update(DEFINITION)
    assert reindex(first) == 3
    _fresh_process()  # the second instance stands for another process: it never registered
    assert _ethnic(second, "kinh") == {"p1"}
    assert "ethnic" in second.supported_search_params("Patient")
    _fresh_process()
    with second.session() as session:  # a write of the other process is indexed for it too
        session.update(_patient("p3", "kinh"))
    assert _ethnic(first, "kinh") == {"p1", "p3"}
    _fresh_process()
    second.bulk_write([_patient("p4", "tay")])
    assert _ethnic(first, "tay") == {"p2", "p4"}


def test_deleting_the_parameter_unregisters_it_everywhere(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    first, second = stores
    with first.session() as session:
        session.update(DEFINITION)
    assert "ethnic" in second.supported_search_params("Patient")
    with first.session() as session:
        session.delete("SearchParameter", "ethnic")
    assert "ethnic" not in second.supported_search_params("Patient")
    with pytest.raises(Invalid, match="ethnic"):
        _ethnic(second, "kinh")


def test_an_edited_expression_is_picked_up(stores: tuple[SqlStore, SqlStore]) -> None:
    first, second = stores
    with first.session() as session:
        session.update(DEFINITION)
    assert _ethnic(second, "kinh") == set()
    gender = DEFINITION | {"expression": "Patient.gender"}
    with first.session() as session:
        session.update(gender)
    with second.session() as session:
        session.update({"resourceType": "Patient", "id": "g1", "gender": "female"})
    assert _ethnic(first, "female") == {"g1"}


def test_bulk_load_workers_index_parameters_of_the_database(
    stores: tuple[SqlStore, SqlStore], tmp_path: Path
) -> None:
    first, second = stores
    with first.session() as session:
        session.update(DEFINITION)
    _fresh_process()
    path = tmp_path / "patients.ndjson"
    lines = [json.dumps(_patient(f"w{i}", "kinh" if i % 2 else "tay")) for i in range(40)]
    path.write_text("\n".join(lines) + "\n")
    # workers: spawned on PostgreSQL (fresh processes: the chunks carry the registry), forked
    # on SQLite (they inherit it too)
    report = load_paths(second, [path], workers=2)
    assert report.loaded == 40 and not report.failures
    assert _ethnic(first, "kinh") == {f"w{i}" for i in range(1, 40, 2)}
    assert snapshot()[1][0].code == "ethnic"


_OTHER_PROCESS = """
import json, sys
from yteso.store import SearchParam, SearchQuery, open_store
store = open_store(sys.argv[1])
query = SearchQuery(params=(SearchParam("ethnic", ("kinh",)),))
found = sorted(m.id for m in store.search("Patient", query).matches)
with store.session() as session:
    session.update({"resourceType": "Patient", "id": "from-child",
                    "extension": [{"url": sys.argv[2], "valueCode": "kinh"}]})
store.close()
print(json.dumps(found))
"""


def test_a_separate_process_sees_the_parameter(stores: tuple[SqlStore, SqlStore]) -> None:
    first, _ = stores
    first.bulk_write([_patient("p1", "kinh")])
    with first.session() as session:
        session.update(DEFINITION)
    reindex(first)
    child = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, first.url, ETHNIC],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(child.stdout.strip().splitlines()[-1]) == ["p1"]
    assert _ethnic(first, "kinh") == {"p1", "from-child"}
