"""The bulk loader prepares chunks with the cyclic collector off and gives it back as found."""

from __future__ import annotations

import gc

import pytest

from yteso.store.bulk_load import _Task, prepare_task

_LINES = (
    b'{"resourceType":"Patient","id":"p1","gender":"female"}\n'
    b'{"resourceType":"Patient","id":"p2","gender":"bogus"}\n'
)


@pytest.mark.parametrize("enabled", [True, False])
def test_prepare_task_restores_the_collector(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        prepared, failures, block = prepare_task(_Task("x.ndjson", 1, _LINES))
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert [fields[:2] for fields in prepared] == [("Patient", "p1")]  # PreparedResource's
    assert [(failure.file, failure.line) for failure in failures] == [("x.ndjson", 2)]
    assert block.keys == [("Patient", "p1")]


def test_prepare_task_restores_the_collector_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(AttributeError):
        prepare_task(_Task("x.ndjson", 1, None))  # type: ignore[arg-type]
    assert gc.isenabled()
