"""Shared fixtures: every storage test runs on SQLite and on the real PostgreSQL.

``store_url`` yields a fresh, empty database URL per test for each backend: a temporary
SQLite file, or a fresh PostgreSQL schema (selected through ``search_path`` in the URL)
inside the ``yteso_test`` database on 127.0.0.1:5432. Under ``CI=true`` an unreachable
PostgreSQL or a missing ``../shared`` is a failure, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

if TYPE_CHECKING:
    from yteso.store import SqlStore

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("YTESO_SHARED", REPO.parent / "shared"))
PG_ADMIN_URL = os.environ.get("YTESO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_TEST_DB = "yteso_test"


def shared_path(*parts: str) -> Path:
    """A path under ../shared; skips (fails under CI=true) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent: the external suites live in ../shared"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def _pg_base_url() -> str:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a hard dependency
        pytest.fail(f"psycopg missing: {exc}")
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (PG_TEST_DB,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{PG_TEST_DB}"')
    except psycopg.Error as exc:
        message = f"PostgreSQL at {PG_ADMIN_URL} unreachable: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_TEST_DB


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    return _pg_base_url()


def fresh_pg_url(base_url: str) -> tuple[str, str]:
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return base_url + "?options=" + quote(f"-csearch_path={schema}"), schema


def drop_pg_schema(base_url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_store(pg_base_url: str) -> Iterator[tuple[SqlStore, str]]:
    """A store on a fresh PostgreSQL schema of its own, and its URL (the schema dropped after)."""
    from yteso.store import open_store

    url, schema = fresh_pg_url(pg_base_url)
    store = open_store(url)
    try:
        yield store, url
    finally:
        store.close()
        drop_pg_schema(pg_base_url, schema)


@contextmanager
def module_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[str]:
    """For a module-scoped fixture parametrised over ``sqlite``/``postgres``: a URL of a fresh
    database kept for the module (a data set loaded once, searched by many tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp(name) / 'yteso.db'}"
        return
    base = _pg_base_url()
    url, schema = fresh_pg_url(base)
    try:
        yield url
    finally:
        drop_pg_schema(base, schema)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, empty database, once per backend."""
    with fresh_database(request.param, tmp_path, request, "yteso.db") as url:
        yield url


@contextmanager
def fresh_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, file_name: str
) -> Iterator[str]:
    """A fresh, empty database of ``backend`` (``sqlite``: ``file_name`` in ``tmp_path``;
    ``postgres``: a schema of its own, dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / file_name}"
        return
    base = request.getfixturevalue("pg_base_url")
    url, schema = fresh_pg_url(base)
    try:
        yield url
    finally:
        drop_pg_schema(base, schema)
