"""Fixtures for the db area: a fresh warehouse per test, on SQLite and on PostgreSQL.

``warehouse_url`` is parametrized: ``sqlite`` (a file in the test's ``tmp_path``) and
``postgresql`` (a schema of its own in the server's ``test`` database, selected through the
connection's ``search_path`` option and dropped afterwards). ``pg_url`` gives only the
PostgreSQL one. Without a reachable server the PostgreSQL cases skip with the reason; with
``CI=true`` they fail instead, since CI must run them.

The server defaults to ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; set
``UNION_NEWS_TEST_PG_URL`` for another one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import quote

import pytest

from union_news.secrets import mask_url

PG_URL = os.environ.get(
    "UNION_NEWS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@lru_cache(maxsize=1)
def _pg_problem() -> str | None:
    """None when the server answers, else why not (asked once per session)."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(_libpq(PG_URL), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {mask_url(PG_URL)} is not reachable: {first}"
    return None


def require_postgres() -> None:
    """Skip (fail in CI) when no PostgreSQL server answers."""
    problem = _pg_problem()
    if problem is None:
        return
    if _in_ci():
        pytest.fail(f"{problem} (CI=true: PostgreSQL tests must run, not skip)", pytrace=False)
    pytest.skip(f"{problem}; start one (see README) or run with CI=true to make this an error")


def _admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(PG_URL), autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


def _with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}', safe='')}"


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose default schema is a fresh one, dropped after the test."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    _admin(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_schema(PG_URL, schema)
    finally:
        _drop_schema(schema)


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(PG_URL), autocommit=True, connect_timeout=5) as conn:
        conn.execute("SET lock_timeout = '20s'")
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_url(pg_schema_url: str) -> str:
    """The PostgreSQL warehouse URL of this test (its own schema)."""
    return pg_schema_url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path) -> str:
    """A fresh, empty warehouse URL: SQLite file or PostgreSQL schema of this test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return request.getfixturevalue("pg_schema_url")
