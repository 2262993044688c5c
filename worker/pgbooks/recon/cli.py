"""``pgbooks bank import``, ``pgbooks recon match|unmatched|refresh``, ``pgbooks exceptions ...``.

Thin shells over ``api.*`` SQL functions: parse arguments, call one function, print the result.
The tenant comes from ``--tenant`` or ``PGBOOKS_TENANT``; the actor from ``--actor``,
``PGBOOKS_USER`` or the OS user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from pgbooks import exitcodes
from pgbooks.bank import StatementParseError
from pgbooks.clidb import actor as actor_of
from pgbooks.clidb import connect, require_tenant
from pgbooks.output import QUIET_OPT, emit, fail, progress
from pgbooks.recon.importer import build_document, store_document

bank_app = typer.Typer(help="Bank statements: import files.", no_args_is_help=True)
recon_app = typer.Typer(
    help="Reconciliation: match payouts to bank deposits.", no_args_is_help=True
)
exceptions_app = typer.Typer(
    help="Exception queue: list, show, retry, resolve, ignore.", no_args_is_help=True
)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output.")
TENANT_OPT = typer.Option(None, "--tenant", "-t", help="Tenant id (default: $PGBOOKS_TENANT).")
ACTOR_OPT = typer.Option(None, "--actor", help="Who acts (default: $PGBOOKS_USER or OS user).")
FILE_ARG = typer.Argument(
    ..., exists=True, dir_okay=False, readable=True, help="Statement file (OFX, camt, BAI2, ...)."
)
EXCEPTION_ARG = typer.Argument(..., help="Exception id (see `pgbooks exceptions list`).")
_ACTIONS = {
    "retry": "SELECT api.exception__retry(%s, %s, %s, %s)",
    "retry_by_reason": "SELECT api.exception__retry_by_reason(%s, %s, %s, %s)",
    "resolve": "SELECT api.exception__resolve(%s, %s, %s, %s)",
    "ignore": "SELECT api.exception__ignore(%s, %s, %s, %s)",
}


def mount(app: typer.Typer) -> None:
    """Add the ``bank``, ``recon`` and ``exceptions`` sub-commands to the main CLI."""
    app.add_typer(bank_app, name="bank")
    app.add_typer(recon_app, name="recon")
    app.add_typer(exceptions_app, name="exceptions")


@bank_app.command("import")
def import_cmd(
    file: Path = FILE_ARG,
    tenant: str | None = TENANT_OPT,
    fmt: str | None = typer.Option(
        None, "--format", help="ofx, qfx, camt, bai2, mt940 or csv (default: detected)."
    ),
    profile: str | None = typer.Option(None, "--profile", help="CSV column profile."),
    currency: str | None = typer.Option(None, "--currency", help="CSV: currency of the account."),
    account: str | None = typer.Option(
        None, "--account", help="Account id when the file does not name one."
    ),
    actor: str | None = ACTOR_OPT,
    as_json: bool = JSON_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Import one bank statement file: every line stored once; a bad file is refused whole.

    A progress bar (read, parse, store) shows on a terminal (stderr), never with --json or
    --quiet. Exit 1 when the file is refused (the message names the line)."""
    t = require_tenant(tenant)
    with connect(actor) as conn, progress(quiet=as_json or quiet) as bar:
        task = bar.add_task(f"read {file.name}", total=3)
        data = file.read_bytes()
        bar.update(task, advance=1, description=f"parse {file.name} ({len(data):,} bytes)")
        try:
            doc = build_document(
                data,
                file_name=file.name,
                fmt=fmt,
                profile=profile,
                currency=currency,
                account_id=account,
            )
        except (StatementParseError, KeyError, ValueError) as exc:
            fail(f"{file.name} refused, nothing imported: {exc}")
            raise typer.Exit(exitcodes.ERROR) from exc
        lines = sum(len(s["lines"]) for s in doc["statements"])
        bar.update(task, advance=1, description=f"store {lines:,} lines")
        res = store_document(conn, t, doc)
        bar.update(task, advance=1, description=f"imported {file.name}")
    if res["already_imported"]:
        human = f"{file.name}: already imported (statements {res['statement_ids']}); nothing new"
    else:
        human = (
            f"{file.name}: {res['format']}, {res['statements']} statement(s), {res['lines']} "
            f"line(s), {res['new_lines']} new, {res['lines'] - res['new_lines']} already stored"
        )
    emit(res, as_json=as_json, human=human)


@recon_app.command("match")
def match_cmd(
    tenant: str | None = TENANT_OPT,
    window_days: int = typer.Option(5, "--window-days", help="Days after the payout date."),
    actor: str | None = ACTOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Match payouts to bank deposits (reference, amount + date window, batches)."""
    t = require_tenant(tenant)
    with connect(actor) as conn:
        row = conn.execute("SELECT api.bank__match(%s, %s)", (t, window_days)).fetchone()
    assert row is not None
    res = row[0]
    human = ", ".join(f"{k}: {v}" for k, v in sorted(res.items()))
    emit(res, as_json=as_json, human=human)
    if res.get("unmatched_payouts", 0) or res.get("inconsistent_payouts", 0):
        raise typer.Exit(exitcodes.ATTENTION)


@recon_app.command("unmatched")
def unmatched_cmd(tenant: str | None = TENANT_OPT, as_json: bool = JSON_OPT) -> None:
    """List payouts and bank deposits without a match."""
    t = require_tenant(tenant)
    with connect() as conn:
        cur = conn.execute(
            "SELECT side, key, amount, currency, on_date, age_days, reason"
            " FROM analytics.rpt_bank_unmatched WHERE tenant_id = %s ORDER BY side, on_date, key",
            (t,),
        )
        cols = [c.name for c in cur.description or []]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    human = "\n".join(
        f"{r['side']:<7} {r['key']:<30} {r['amount']:>14} {r['currency']} {r['on_date']} "
        f"{r['reason']}"
        for r in rows
    )
    emit({"unmatched": rows}, as_json=as_json, human=human or "nothing unmatched")
    if rows:
        raise typer.Exit(exitcodes.ATTENTION)


@recon_app.command("refresh")
def refresh_cmd(
    tenant: str | None = TENANT_OPT,
    all_days: bool = typer.Option(
        False,
        "--all",
        help="Recompute every day and payout (after a bulk load with triggers disabled).",
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Fold the days and payouts changed since the last refresh into the reconciliation rollups."""
    t = require_tenant(tenant)
    with connect() as conn:
        row = conn.execute(
            "SELECT api.recon_rollup__refresh(%s, %s), api.payout_rollup__refresh(%s, %s)",
            (t, all_days, t, all_days),
        ).fetchone()
    assert row is not None
    emit(
        {"days": row[0], "payouts": row[1]},
        as_json=as_json,
        human=f"{row[0]} day(s) recomputed, {row[1]} payout(s)",
    )


@exceptions_app.command("list")
def list_cmd(
    tenant: str | None = TENANT_OPT,
    status: str = typer.Option("open", "--status", help="open, resolved, ignored or all."),
    reason_code: str | None = typer.Option(
        None, "--reason-code", help="Only this reason code (e.g. ITEM_UNMAPPED)."
    ),
    limit: int = typer.Option(100, "--limit", help="At most this many rows."),
    as_json: bool = JSON_OPT,
) -> None:
    """List exceptions, oldest first."""
    t = require_tenant(tenant)
    with connect() as conn:
        cur = conn.execute(
            "SELECT * FROM api.exception__list(%s, %s, %s, %s)",
            (t, None if status == "all" else status, reason_code, limit),
        )
        cols = [c.name for c in cur.description or []]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    human = "\n".join(
        f"#{r['exception_id']:<6} {r['status']:<8} {r['reason_code']:<28} x{r['occurrences']:<3} "
        f"{r['age_hours']}h  {r['message']}"
        for r in rows
    )
    emit({"exceptions": rows}, as_json=as_json, human=human or "no exceptions")


@exceptions_app.command("show")
def show_cmd(
    exception_id: int = EXCEPTION_ARG, tenant: str | None = TENANT_OPT, as_json: bool = JSON_OPT
) -> None:
    """Show one exception: message, detail, QuickBooks fault, diff preview, remedy."""
    t = require_tenant(tenant)
    with connect() as conn:
        row = conn.execute("SELECT api.exception__show(%s, %s)", (t, exception_id)).fetchone()
    assert row is not None
    data: dict[str, Any] = row[0]
    human = "\n".join(f"{k:>14}: {v}" for k, v in data.items() if v is not None)
    emit(data, as_json=as_json, human=human)


def _act(
    action: str,
    tenant: str | None,
    target: Any,
    reason: str,
    actor: str | None,
    as_json: bool,
) -> None:
    t = require_tenant(tenant)
    if not reason.strip():
        fail("--reason must not be empty")
        raise typer.Exit(exitcodes.USAGE)
    with connect(actor) as conn:
        row = conn.execute(_ACTIONS[action], (t, target, reason, actor_of(actor))).fetchone()
    assert row is not None
    res: dict[str, Any] = row[0]
    if "retried" in res:
        human = f"retried {res['retried']} open {res['reason_code']} exception(s)"
    else:
        human = f"exception {res['exception_id']}: {res['status']} by {res['actor']}" + (
            f"; document {res['document_id']} released" if res.get("document_released") else ""
        )
    emit(res, as_json=as_json, human=human)


REASON_OPT = typer.Option(..., "--reason", help="Why (recorded in the audit trail).")


@exceptions_app.command("retry")
def retry_cmd(
    exception_id: int | None = typer.Argument(
        None, help="Exception id (or use --reason-code for a bulk retry)."
    ),
    reason_code: str | None = typer.Option(
        None, "--reason-code", help="Bulk: retry every open exception of this reason code."
    ),
    reason: str = REASON_OPT,
    tenant: str | None = TENANT_OPT,
    actor: str | None = ACTOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Retry one exception, or all open ones of a reason code after a fix."""
    if (exception_id is None) == (reason_code is None):
        fail("give an EXCEPTION_ID or --reason-code, not both")
        raise typer.Exit(exitcodes.USAGE)
    if reason_code is not None:
        _act("retry_by_reason", tenant, reason_code, reason, actor, as_json)
    else:
        _act("retry", tenant, exception_id, reason, actor, as_json)


@exceptions_app.command("resolve")
def resolve_cmd(
    exception_id: int = EXCEPTION_ARG,
    reason: str = REASON_OPT,
    tenant: str | None = TENANT_OPT,
    actor: str | None = ACTOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Mark an exception resolved (fixed elsewhere)."""
    _act("resolve", tenant, exception_id, reason, actor, as_json)


@exceptions_app.command("ignore")
def ignore_cmd(
    exception_id: int = EXCEPTION_ARG,
    reason: str = REASON_OPT,
    tenant: str | None = TENANT_OPT,
    actor: str | None = ACTOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Accept an exception without change; a reason is required."""
    _act("ignore", tenant, exception_id, reason, actor, as_json)
