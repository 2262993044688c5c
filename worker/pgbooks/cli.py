"""The ``pgbooks`` command: one CLI for everything the product does.

Each concern contributes a typer sub-application; this module only mounts them. Configuration
comes from ``DATABASE_URL`` (environment or ``.env``); secrets are never printed.

:func:`main` is the safety net of every subcommand: a database that cannot be reached is exit
code 4, any other database error or a failed HTTP call exit code 1, each with a one-line message
(SQLSTATE, no traceback, secrets scrubbed), whatever command raised it.
"""

from __future__ import annotations

import sys

import httpx
import psycopg
import typer

from pgbooks import exitcodes
from pgbooks.audit.cli import audit_app, close_app
from pgbooks.books.cli import books_app
from pgbooks.config import load_env, load_settings, redact_url
from pgbooks.db.cli import app as db_app
from pgbooks.inbound.cli import app as inbound_app
from pgbooks.ingest.cli import app as ingest_app
from pgbooks.output import fail
from pgbooks.qbo.cli import app as qbo_app
from pgbooks.recon.cli import mount as mount_recon
from pgbooks.status import status_cmd
from pgbooks.sync import cli as sync_cli
from qbo_sandbox.cli import app as sandbox_app

app = typer.Typer(
    name="pgbooks",
    help="Postgres-native engine that turns e-commerce activity into QuickBooks Online books.\n\n"
    "Configuration: DATABASE_URL (environment or .env in the working directory). "
    "Exit codes: 0 ok, 1 error, 2 usage, 3 needs attention, 4 database unreachable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(close_app, name="close")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(qbo_app, name="qbo")  # import (QuickBooks history), repost (old orders)
app.add_typer(ingest_app)  # receive, backfill, ingest process|status
app.add_typer(inbound_app, name="inbound")  # two-way sync
app.add_typer(books_app, name="books")  # derive queued orders now
sync_cli.register(app)
app.command("status")(status_cmd)
mount_recon(app)  # bank, recon, exceptions


def main() -> None:
    """Console-script entry point."""
    load_env()  # before parsing: options read from the environment (PGBOOKS_*) see .env too
    try:
        app()
    except psycopg.OperationalError as exc:
        url = load_settings().database_url
        fail(f"cannot reach {redact_url(url)}: {str(exc).strip()}")
        sys.exit(exitcodes.NO_DATABASE)
    except psycopg.Error as exc:
        diag = exc.diag.message_primary or str(exc).strip()
        fail(f"{exc.sqlstate or 'database error'}: {diag}")
        sys.exit(exitcodes.ERROR)
    except httpx.HTTPError as exc:
        where = (
            f" ({exc.request.method} {exc.request.url.copy_with(query=None)})"
            if _has_request(exc)
            else ""
        )
        fail(f"HTTP request failed{where}: {exc}")
        sys.exit(exitcodes.ERROR)


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when the error has no request
    except RuntimeError:
        return False
    return True
