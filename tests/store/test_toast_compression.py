"""PostgreSQL compresses large resource bodies and their cached JSONB with lz4 where the server
was built with it (migrations 0014 and 0016), and serves them byte-exact as before."""

from __future__ import annotations

from pathlib import Path

import orjson
import psycopg
import pytest

from yteso.store import SqlStore, load_paths
from yteso.warehouse.postgres_views import fill_cache

# ~20 KB of text: past the ~2 KB at which TOAST compresses a row's values
DIV = '<div xmlns="http://www.w3.org/1999/xhtml">' + "Nguyễn Văn An, Phường Ba Đình. " * 600
BIG = {
    "resourceType": "Patient",
    "id": "big",
    "text": {"status": "generated", "div": DIV + "</div>"},
}


def server_has_lz4(url: str) -> bool:
    with psycopg.connect(url) as db:
        query = "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
        row = db.execute(query).fetchone()
    return row is not None and "lz4" in row[0]


@pytest.mark.parametrize("path", ["session", "bulk"])
def test_large_resources_are_compressed_with_lz4_and_read_back_exactly(
    pg_store: tuple[SqlStore, str], tmp_path: Path, path: str
) -> None:
    store, url = pg_store
    if path == "session":
        with store.session() as session:
            session.update(BIG)
    else:  # the bulk loader's COPY
        (tmp_path / "big.ndjson").write_bytes(orjson.dumps(BIG) + b"\n")
        assert load_paths(store, [tmp_path / "big.ndjson"]).loaded == 1
    assert store.read("Patient", "big").resource()["text"] == BIG["text"]
    with psycopg.connect(url) as db:
        assert fill_cache(db, "Patient") == 1  # what a view over Patient does first
        methods = db.execute(
            "SELECT pg_column_compression(h.body), pg_column_compression(j.content),"
            " j.content = h.body::jsonb"
            " FROM resource_current c JOIN resource_history h ON h.seq = c.seq"
            " JOIN resource_json j ON j.seq = c.seq"
        ).fetchall()
    method = "lz4" if server_has_lz4(url) else "pglz"
    assert methods == [(method, method, True)]
