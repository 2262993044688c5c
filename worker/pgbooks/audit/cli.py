"""``pgbooks audit ...`` and ``pgbooks close ...``.

Exit codes: 0 ok; 1 error (message on stderr); 3 the check ran and found a problem (broken
chain, bundle that does not verify); 4 database unreachable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psycopg
import typer
from rich.progress import Progress, TaskID

from pgbooks import exitcodes
from pgbooks.audit import bundle, ops, signing
from pgbooks.config import load_settings, redact_url
from pgbooks.output import QUIET_OPT, emit, fail, progress

audit_app = typer.Typer(
    help="Audit trail: verify chains, sign checkpoints, receipts, offline bundle checks.",
    no_args_is_help=True,
)
close_app = typer.Typer(
    help="Period close: close, reopen (four-eyes), export a sealed bundle.", no_args_is_help=True
)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output.")
USER_OPT = typer.Option(
    None, "--user", envvar="PGBOOKS_USER", help="Application user recorded in the audit log."
)
TENANT_ARG = typer.Argument(..., help="Tenant id.")
PERIOD_ARG = typer.Argument(..., help="Month, YYYY-MM.")
KEY_PATH_ARG = typer.Argument(..., help="Where to write the private key (never overwritten).")
BUNDLE_ARG = typer.Argument(..., help="Bundle directory (audit or close export).")
DIR_ARG = typer.Argument(..., help="Directory to write (created; must be empty).")
KEY_OPT = typer.Option(
    None, "--key", envvar=signing.KEY_ENV, help="Ed25519 private key (PEM) used to sign."
)


def _conn(user: str | None) -> psycopg.Connection:
    url = load_settings().database_url
    try:
        return ops.connect(url, user)
    except psycopg.OperationalError as exc:
        fail(f"cannot reach {redact_url(url)}: {exc}")
        raise typer.Exit(exitcodes.NO_DATABASE) from exc


def _run(fn: Any, *args: Any) -> Any:
    """Call ``fn``, turning database and signing errors into exit code 1 with a message."""
    try:
        return fn(*args)
    except (
        psycopg.Error,
        RuntimeError,
        signing.SigningKeyError,
        FileExistsError,
        ValueError,
    ) as exc:
        diag = getattr(exc, "diag", None)
        code = f" [{diag.sqlstate}]" if diag is not None and diag.sqlstate else ""
        fail(f"{str(exc).strip()}{code}")
        raise typer.Exit(exitcodes.ERROR) from exc


def _on(bar: Progress, task: TaskID) -> ops.OnProgress:
    """An ``ops`` progress callback that moves ``task`` of ``bar``."""

    def update(what: str, done: int, total: int | None) -> None:
        bar.update(task, description=what, completed=done, total=total)

    return update


@audit_app.command("keygen")
def keygen_cmd(
    path: Path = KEY_PATH_ARG,
    as_json: bool = JSON_OPT,
) -> None:
    """Create an Ed25519 signing key (PEM, mode 0600) and PATH.pub (hex public key)."""
    pub = _run(signing.generate_key, path)
    emit({"key": str(path), "public_key": pub}, as_json=as_json, human=f"public key: {pub}")


@audit_app.command("verify")
def verify_cmd(
    tenant: str = TENANT_ARG,
    from_seq: int = typer.Option(1, "--from", help="First seq to check."),
    to_seq: int | None = typer.Option(None, "--to", help="Last seq to check."),
    as_json: bool = JSON_OPT,
) -> None:
    """Recompute a tenant chain; exit 3 and name the first broken link if it does not hold."""
    with _conn(None) as conn:
        res = _run(ops.verify, conn, tenant, from_seq, to_seq)
    human = (
        f"ok: {res['checked']} events, head seq {res['head_seq']} {res['head_hash']}"
        if res["ok"]
        else f"BROKEN at seq {res['first_bad_seq']}: {res['problem']}"
    )
    emit(res, as_json=as_json, human=human)
    if not res["ok"]:
        raise typer.Exit(exitcodes.ATTENTION)


@audit_app.command("checkpoint")
def checkpoint_cmd(
    tenant: str | None = typer.Argument(None, help="Tenant; all tenants when omitted."),
    key: str | None = KEY_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Sign the chain head of a tenant (or of every tenant: run it from cron for a schedule)."""
    private = _run(signing.load_key, key)
    out = []
    with _conn(None) as conn:
        for t in [tenant] if tenant else ops.tenants(conn):
            out.append(_run(ops.checkpoint, conn, t, private))
    emit(
        {"checkpoints": out},
        as_json=as_json,
        human="\n".join(f"{c['tenant_id']}: seq {c['seq']} head {c['head']}" for c in out)
        or "no tenants",
    )


@audit_app.command("receipt")
def receipt_cmd(
    order_id: str = typer.Argument(..., help="Order id on its platform."),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant (found when unique)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Chain of evidence of one order: source facts, documents, delivery, audit entries."""
    with _conn(None) as conn:
        rec = _run(ops.receipt, conn, order_id, tenant)
    lines = [f"order {rec['order_id']} of tenant {rec['tenant_id']}"]
    for table, rows in rec["sources"].items():
        lines.append(f"  source {table}: {len(rows)} row(s)")
    for d in rec["documents"]:
        lines.append(
            f"  document {d['document_id']} {d['doc_type']} v{d['version']} {d['status']} "
            f"{d.get('total_amount')} {d.get('currency')}"
        )
    for table, rows in rec["delivery"].items():
        lines.append(f"  delivery {table}: {len(rows)} row(s)")
    for e in rec["audit"]:
        lines.append(
            f"  audit #{e['seq']} {e['operation']} {e['table_name']} {e['reason_code']} "
            f"by {e['app_user'] or e['db_role']} {e['hash'][:16]}"
        )
    emit(rec, as_json=as_json, human="\n".join(lines))


@audit_app.command("export")
def export_cmd(
    tenant: str = TENANT_ARG,
    directory: Path = DIR_ARG,
    key: str | None = KEY_OPT,
    as_json: bool = JSON_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Export a tenant's whole chain and checkpoints to DIRECTORY (signed when a key is set).

    A progress bar shows on a terminal (stderr), never with --json or --quiet."""
    private = _run(signing.load_key, key) if key or os.environ.get(signing.KEY_ENV) else None
    with _conn(None) as conn, progress(quiet=as_json or quiet) as bar:
        task = bar.add_task(f"export {tenant}", total=None)
        manifest = _run(ops.export_chain, conn, tenant, directory, private, _on(bar, task))
    emit(manifest, as_json=as_json, human=f"wrote {len(manifest['files'])} files to {directory}")


@audit_app.command("verify-bundle")
def verify_bundle_cmd(
    directory: Path = BUNDLE_ARG,
    public_key: str | None = typer.Option(
        None, "--public-key", help="Trusted signer: 64 hex characters or a .pub file."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Verify an exported bundle offline (no database): exit 3 if any byte was changed."""
    trusted = _run(signing.load_public, public_key) if public_key else None
    rep = bundle.verify_bundle(directory, trusted)
    human = (
        "ok: " + ", ".join(f"{k}={v}" for k, v in rep.facts.items())
        if rep.ok
        else "FAILED:\n" + "\n".join("  " + p for p in rep.problems)
    )
    emit({"ok": rep.ok, "problems": rep.problems, **rep.facts}, as_json=as_json, human=human)
    if not rep.ok:
        raise typer.Exit(exitcodes.ATTENTION)


@close_app.command("period")
def close_period_cmd(
    tenant: str = TENANT_ARG,
    period: str = PERIOD_ARG,
    override: int | None = typer.Option(None, "--override", help="Approved override id."),
    policy: str = typer.Option("reroute", "--late-policy", help="reroute or refuse."),
    user: str | None = USER_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Close a month; refused while documents are unposted or exceptions open, unless overridden."""
    with _conn(user) as conn:
        row = _run(
            lambda: conn.execute(
                "SELECT close.close_period(%s, %s, %s, %s)", (tenant, period, override, policy)
            ).fetchone()
        )
    emit(row[0], as_json=as_json, human=f"{tenant} {period}: closed")


@close_app.command("reopen")
def reopen_cmd(
    tenant: str = TENANT_ARG,
    period: str = PERIOD_ARG,
    override: int = typer.Option(..., "--override", help="Approved reopen_period override id."),
    user: str | None = USER_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Reopen a closed month (four-eyes override required)."""
    with _conn(user) as conn:
        row = _run(
            lambda: conn.execute(
                "SELECT close.reopen_period(%s, %s, %s)", (tenant, period, override)
            ).fetchone()
        )
    emit(row[0], as_json=as_json, human=f"{tenant} {period}: reopened")


@close_app.command("override-request")
def override_request_cmd(
    tenant: str = TENANT_ARG,
    action: str = typer.Argument(
        ..., help="force_post, ignore_exception, reopen_period, close_period."
    ),
    subject: str = typer.Argument(..., help="Period YYYY-MM, document id or exception id."),
    reason: str = typer.Option(..., "--reason", help="Why the override is needed (audited)."),
    user: str | None = USER_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """First signature of a four-eyes override; prints its id."""
    with _conn(user) as conn:
        row = _run(
            lambda: conn.execute(
                "SELECT close.override__request(%s, %s, %s, %s)", (tenant, action, subject, reason)
            ).fetchone()
        )
    emit({"override_id": row[0]}, as_json=as_json, human=f"override {row[0]} requested")


@close_app.command("override-approve")
def override_approve_cmd(
    tenant: str = TENANT_ARG,
    override_id: int = typer.Argument(..., help="Id printed by override-request."),
    reason: str = typer.Option(..., "--reason", help="Why you approve (audited)."),
    user: str | None = USER_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Second signature (a different person, role pgbooks_approver)."""
    with _conn(user) as conn:
        _run(
            lambda: conn.execute(
                "SELECT close.override__approve(%s, %s, %s)", (tenant, override_id, reason)
            )
        )
    emit({"override_id": override_id, "approved": True}, as_json=as_json, human="approved")


@close_app.command("export")
def close_export_cmd(
    tenant: str = TENANT_ARG,
    period: str = PERIOD_ARG,
    directory: Path = DIR_ARG,
    key: str | None = KEY_OPT,
    user: str | None = USER_OPT,
    as_json: bool = JSON_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Write the sealed bundle of a closed month to DIRECTORY (manifest + sha256 of every file).

    A progress bar shows on a terminal (stderr), never with --json or --quiet."""
    private = _run(signing.load_key, key) if key or os.environ.get(signing.KEY_ENV) else None
    with _conn(user) as conn, progress(quiet=as_json or quiet) as bar:
        task = bar.add_task(f"export {tenant} {period}", total=None)
        on_progress = _on(bar, task)
        manifest = _run(ops.export_period, conn, tenant, period, directory, private, on_progress)
    emit(manifest, as_json=as_json, human=f"wrote {len(manifest['files'])} files to {directory}")
