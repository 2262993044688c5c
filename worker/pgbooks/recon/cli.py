"""``pgbooks bank import``, ``pgbooks recon match|unmatched|refresh``, ``pgbooks exceptions ...``.

Thin shells over ``api.*`` SQL functions: parse arguments, call one function, print the result.
The tenant comes from ``--tenant`` or ``PGBOOKS_TENANT``; the actor from ``--actor``,
``PGBOOKS_USER`` or the OS user.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import typer

from pgbooks import exitcodes
from pgbooks.bank import StatementParseError
from pgbooks.config import load_settings, redact_url
from pgbooks.output import emit, fail
from pgbooks.recon.importer import import_file

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
FILE_ARG = typer.Argument(..., exists=True, dir_okay=False, readable=True)
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


def _tenant(tenant: str | None) -> str:
    value = tenant or os.environ.get("PGBOOKS_TENANT")
    if not value:
        fail("no tenant: pass --tenant or set PGBOOKS_TENANT")
        raise typer.Exit(exitcodes.USAGE)
    return value


def _actor(actor: str | None) -> str:
    return actor or os.environ.get("PGBOOKS_USER") or getpass.getuser()


@contextmanager
def _connect(actor: str | None = None) -> Iterator[psycopg.Connection[Any]]:
    url = load_settings().database_url
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        fail(f"cannot reach {redact_url(url)}: {exc}")
        raise typer.Exit(exitcodes.NO_DATABASE) from exc
    with conn:
        conn.execute("SELECT set_config('pgbooks.user', %s, false)", (_actor(actor),))
        try:
            yield conn
        except psycopg.Error as exc:
            diag = exc.diag.message_primary or str(exc)
            fail(f"{exc.sqlstate or ''} {diag}".strip())
            raise typer.Exit(exitcodes.ERROR) from exc


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
) -> None:
    """Import one bank statement file: every line stored once; a bad file is refused whole."""
    t = _tenant(tenant)
    with _connect(actor) as conn:
        try:
            res = import_file(
                conn, t, file, fmt=fmt, profile=profile, currency=currency, account_id=account
            )
        except (StatementParseError, KeyError, ValueError) as exc:
            fail(f"{file.name} refused, nothing imported: {exc}")
            raise typer.Exit(exitcodes.ERROR) from exc
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
    t = _tenant(tenant)
    with _connect(actor) as conn:
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
    t = _tenant(tenant)
    with _connect() as conn:
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
        False, "--all", help="Recompute every day (after a bulk load with triggers disabled)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Fold the days changed since the last refresh into the reconciliation rollup."""
    t = _tenant(tenant)
    with _connect() as conn:
        row = conn.execute("SELECT api.recon_rollup__refresh(%s, %s)", (t, all_days)).fetchone()
    assert row is not None
    emit({"days": row[0]}, as_json=as_json, human=f"{row[0]} day(s) recomputed")


@exceptions_app.command("list")
def list_cmd(
    tenant: str | None = TENANT_OPT,
    status: str = typer.Option("open", "--status", help="open, resolved, ignored or all."),
    reason_code: str | None = typer.Option(None, "--reason-code"),
    limit: int = typer.Option(100, "--limit"),
    as_json: bool = JSON_OPT,
) -> None:
    """List exceptions, oldest first."""
    t = _tenant(tenant)
    with _connect() as conn:
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
def show_cmd(exception_id: int, tenant: str | None = TENANT_OPT, as_json: bool = JSON_OPT) -> None:
    """Show one exception: message, detail, QuickBooks fault, diff preview, remedy."""
    t = _tenant(tenant)
    with _connect() as conn:
        row = conn.execute("SELECT api.exception__show(%s, %s)", (t, exception_id)).fetchone()
    assert row is not None
    data: dict[str, Any] = row[0]
    human = "\n".join(f"{k:>14}: {v}" for k, v in data.items() if v is not None)
    emit(data, as_json=as_json, human=human)


def _act(action: str, tenant: str | None, target: Any, reason: str, actor: str | None) -> None:
    t = _tenant(tenant)
    if not reason.strip():
        fail("--reason must not be empty")
        raise typer.Exit(exitcodes.USAGE)
    with _connect(actor) as conn:
        row = conn.execute(_ACTIONS[action], (t, target, reason, _actor(actor))).fetchone()
    assert row is not None
    emit(row[0], as_json=True, human="")


REASON_OPT = typer.Option(..., "--reason", help="Why (recorded in the audit trail).")


@exceptions_app.command("retry")
def retry_cmd(
    exception_id: int | None = typer.Argument(None),
    reason_code: str | None = typer.Option(
        None, "--reason-code", help="Bulk: retry every open exception of this reason code."
    ),
    reason: str = REASON_OPT,
    tenant: str | None = TENANT_OPT,
    actor: str | None = ACTOR_OPT,
) -> None:
    """Retry one exception, or all open ones of a reason code after a fix."""
    if (exception_id is None) == (reason_code is None):
        fail("give an EXCEPTION_ID or --reason-code, not both")
        raise typer.Exit(exitcodes.USAGE)
    if reason_code is not None:
        _act("retry_by_reason", tenant, reason_code, reason, actor)
    else:
        _act("retry", tenant, exception_id, reason, actor)


@exceptions_app.command("resolve")
def resolve_cmd(
    exception_id: int,
    reason: str = REASON_OPT,
    tenant: str | None = TENANT_OPT,
    actor: str | None = ACTOR_OPT,
) -> None:
    """Mark an exception resolved (fixed elsewhere)."""
    _act("resolve", tenant, exception_id, reason, actor)


@exceptions_app.command("ignore")
def ignore_cmd(
    exception_id: int,
    reason: str = REASON_OPT,
    tenant: str | None = TENANT_OPT,
    actor: str | None = ACTOR_OPT,
) -> None:
    """Accept an exception without change; a reason is required."""
    _act("ignore", tenant, exception_id, reason, actor)
