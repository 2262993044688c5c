"""What the operator-facing commands share: who acts, for which tenant, on which connection.

The tenant comes from ``--tenant`` or ``PGBOOKS_TENANT``; the actor (recorded in the audit trail
through the ``pgbooks.user`` setting) from ``--actor``, ``PGBOOKS_USER`` or the OS user. An
unreachable database is exit 4 with the password masked; a database error inside the block is
exit 1 with its SQLSTATE and primary message, never a traceback.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import typer

from pgbooks import exitcodes
from pgbooks.config import load_settings, redact_url
from pgbooks.output import fail


def optional_tenant(tenant: str | None) -> str | None:
    """``--tenant`` or ``$PGBOOKS_TENANT``, or None (all tenants)."""
    return tenant or os.environ.get("PGBOOKS_TENANT")


def require_tenant(tenant: str | None) -> str:
    """``--tenant`` or ``$PGBOOKS_TENANT``; exit 2 (usage) when neither is given."""
    value = optional_tenant(tenant)
    if not value:
        fail("no tenant: pass --tenant or set PGBOOKS_TENANT")
        raise typer.Exit(exitcodes.USAGE)
    return value


def actor(name: str | None) -> str:
    """Who acts: ``--actor``, ``$PGBOOKS_USER`` or the OS user."""
    return name or os.environ.get("PGBOOKS_USER") or getpass.getuser()


@contextmanager
def connect(name: str | None = None) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to ``DATABASE_URL`` acting as ``actor(name)``."""
    url = load_settings().database_url
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        fail(f"cannot reach {redact_url(url)}: {exc}")
        raise typer.Exit(exitcodes.NO_DATABASE) from exc
    with conn:
        conn.execute("SELECT set_config('pgbooks.user', %s, false)", (actor(name),))
        try:
            yield conn
        except psycopg.Error as exc:
            diag = exc.diag.message_primary or str(exc)
            fail(f"{exc.sqlstate or ''} {diag}".strip())
            raise typer.Exit(exitcodes.ERROR) from exc
