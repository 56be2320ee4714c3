"""The official SQL-on-FHIR v2 test suite on every engine.

https://github.com/FHIR/sql-on-fhir-v2/tree/master/tests: each case is a view over the file's
resources with the expected rows (compared as a multiset: the spec does not order rows), the
expected column order, or an expected error.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from tests.conftest import SHARED, shared_path
from yteso.fhir.errors import FhirError
from yteso.warehouse import PythonViewRunner, read_view

SUITE = SHARED / "suites" / "sql-on-fhir-v2" / "tests"


def _cases() -> list[Any]:
    cases = []
    for path in sorted(SUITE.glob("*.json")):
        # parse floats like the engines see NDJSON (orjson), keeping 1.0 a float
        suite = orjson.loads(path.read_bytes())
        for case in suite["tests"]:
            cases.append(pytest.param(suite["resources"], case, id=f"{path.stem}:{case['title']}"))
    return cases


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


def run_python(view: dict[str, Any], resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(PythonViewRunner(read_view(view)).rows(resources))


def check(case: dict[str, Any], run: Any) -> None:
    if case.get("expectError"):
        with pytest.raises(FhirError):
            run()
        return
    rows = run()
    if "expectColumns" in case:
        assert [list(row) for row in rows][:1] in ([case["expectColumns"]], [])
        assert all(list(row) == case["expectColumns"] for row in rows)
        return
    assert sorted(map(_key, rows)) == sorted(map(_key, case["expect"]))


@pytest.mark.parametrize(("resources", "case"), _cases())
def test_python_engine(resources: list[dict[str, Any]], case: dict[str, Any]) -> None:
    shared_path("suites", "sql-on-fhir-v2")
    check(case, lambda: run_python(case["view"], resources))
