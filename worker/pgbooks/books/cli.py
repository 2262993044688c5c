"""``pgbooks books derive``: derive the queued orders and payouts now, without a worker.

Orders are derived off the app's commit path: each committed change leaves a derive request
(``books.derive_requests``) that the worker's ``books_derive`` job drains. This command runs the
same SQL (``api.books__derive_pending``) for an operator: after a bulk load, on a machine where no
worker runs, or to see why a derivation keeps failing.
"""

from __future__ import annotations

from typing import Any

import typer

from pgbooks import exitcodes
from pgbooks.clidb import connect, optional_tenant
from pgbooks.output import JSON_OPT, QUIET_OPT, emit, progress

books_app = typer.Typer(help="Accounting documents: derive queued orders.", no_args_is_help=True)

TENANT_OPT = typer.Option(
    None, "--tenant", "-t", help="Only this tenant (default: $PGBOOKS_TENANT, else every tenant)."
)


@books_app.command("derive")
def derive_cmd(
    tenant: str | None = TENANT_OPT,
    batch: int = typer.Option(
        1000, "--batch", min=1, help="Requests taken per transaction (one commit each)."
    ),
    as_json: bool = JSON_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Derive every queued order and payout now; exit 3 if some derivation keeps failing."""
    t = optional_tenant(tenant)
    derived = 0
    with connect() as conn, progress(quiet=as_json or quiet) as bar:
        task = bar.add_task("deriving", total=None)
        while True:
            row = conn.execute("SELECT api.books__derive_pending(%s, %s)", (t, batch)).fetchone()
            n = int(row[0]) if row and row[0] else 0
            if n == 0:
                break
            derived += n
            bar.advance(task, n)
        backlog = conn.execute(
            "SELECT tenant_id, pending, failing FROM api.books__derive_backlog()"
            " WHERE %s::text IS NULL OR tenant_id = %s",
            (t, t),
        ).fetchall()
        errors = conn.execute(
            "SELECT tenant_id, subject_type, channel_id, subject_id, attempts, last_error"
            " FROM api.books__derive_failures(%s, 20)",
            (t,),
        ).fetchall()
    failing = sum(int(r[2]) for r in backlog)
    result: dict[str, Any] = {
        "derived": derived,
        "pending": sum(int(r[1]) for r in backlog),
        "failing": failing,
        "errors": [
            {
                "tenant_id": e[0],
                "subject": f"{e[1]}:{e[2]}:{e[3]}",
                "attempts": e[4],
                "error": e[5],
            }
            for e in errors
        ],
    }
    lines = [f"{derived} order(s)/payout(s) derived; {failing} failing"]
    lines += [
        f"  {e['tenant_id']} {e['subject']} ({e['attempts']}x): {e['error']}"
        for e in result["errors"]
    ]
    emit(result, as_json=as_json, human="\n".join(lines))
    if failing:
        raise typer.Exit(exitcodes.ATTENTION)
