"""Shared fixtures: a real PostgreSQL, a template database built once per run, a fresh copy
per test.

The template is built exactly like production (``pgbooks db migrate``: alembic upgrade head, then
the reload of sql/code and views/). Each test that asks for ``db_url`` / ``db`` gets its own
database cloned from it (``CREATE DATABASE ... TEMPLATE``), dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import psycopg
import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from pgbooks import devdb
from pgbooks.db.migrate import migrate

_counter = itertools.count()
_RUN = f"{os.getpid()}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def _janitor(server: devdb.Server, dbname: str, **kw: object) -> DatabaseJanitor:
    return DatabaseJanitor(
        user=server.user,
        host=server.host,
        port=server.port,
        password=server.password,
        dbname=dbname,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[devdb.Server]:
    """A running server: TEST_DATABASE_URL, the local trust server, or a private cluster."""
    with devdb.server() as server:
        yield server


@pytest.fixture(scope="session")
def db_template(pg_server: devdb.Server) -> Iterator[str]:
    """Name of a template database at migration head with all code loaded."""
    name = f"pgbooks_tmpl_{_RUN}"
    janitor = _janitor(pg_server, name, as_template=True)
    janitor.drop()
    janitor.init()
    try:
        migrate(pg_server.url(name))
        yield name
    finally:
        janitor.drop()


@pytest.fixture
def empty_db_url(pg_server: devdb.Server) -> Iterator[str]:
    """URL of a brand-new empty database (for migration tests)."""
    name = f"pgbooks_e_{_RUN}_{next(_counter)}"
    with _janitor(pg_server, name):
        yield pg_server.url(name)


@pytest.fixture
def db_url(pg_server: devdb.Server, db_template: str) -> Iterator[str]:
    """URL of a fresh database cloned from the template."""
    name = f"pgbooks_t_{_RUN}_{next(_counter)}"
    with _janitor(pg_server, name, template_dbname=db_template):
        yield pg_server.url(name)


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection (as the superuser) to a fresh database."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn
