"""``yteso reindex --content-index on|off`` as an operator runs it: a real process."""

from __future__ import annotations

import subprocess

from tests.cli.yteso_process import run_yteso
from yteso.store import SearchParam, SearchQuery, open_store


def run_reindex(*args: str) -> subprocess.CompletedProcess[str]:
    return run_yteso("reindex", *args)


def test_content_index_is_turned_on_and_off(store_url: str) -> None:
    store = open_store(store_url)
    store.bulk_write([{"resourceType": "Patient", "id": "p1", "address": [{"city": "Huế"}]}])
    try:
        turned = run_reindex("--db", store_url, "--content-index", "on")
        assert turned.returncode == 0, turned.stderr
        assert "turned on" in turned.stderr and "reindexed 1 resources" in turned.stdout
        again = run_reindex("--db", store_url, "--content-index", "on")
        assert "already on" in again.stderr
        query = SearchQuery(params=(SearchParam("_content", ("hue",)),))
        assert [m.id for m in store.search("Patient", query).matches] == ["p1"]
        assert store.backend.dialect.content_index
        assert run_reindex("--db", store_url, "--content-index", "off").returncode == 0
        assert [m.id for m in store.search("Patient", query).matches] == ["p1"]
        assert not store.backend.dialect.content_index
        wrong = run_reindex("--db", store_url, "--content-index", "maybe")
        assert wrong.returncode != 0 and "on or off" in wrong.stderr
    finally:
        store.close()
