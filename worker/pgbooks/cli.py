"""The ``pgbooks`` command: one CLI for everything the product does.

Each concern contributes a typer sub-application; this module only mounts them. Configuration
comes from ``DATABASE_URL`` (environment or ``.env``); secrets are never printed.
"""

from __future__ import annotations

import typer

from pgbooks.audit.cli import audit_app, close_app
from pgbooks.db.cli import app as db_app
from pgbooks.inbound.cli import app as inbound_app
from pgbooks.ingest.cli import app as ingest_app
from pgbooks.qbo.cli import app as qbo_app
from pgbooks.recon.cli import mount as mount_recon
from pgbooks.status import status_cmd
from pgbooks.sync import cli as sync_cli
from qbo_sandbox.cli import app as sandbox_app

app = typer.Typer(
    name="pgbooks",
    help="Postgres-native engine that turns e-commerce activity into QuickBooks Online books.",
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
sync_cli.register(app)
app.command("status")(status_cmd)
mount_recon(app)  # bank, recon, exceptions


def main() -> None:
    """Console-script entry point."""
    app()
