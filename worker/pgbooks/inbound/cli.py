"""``pgbooks inbound ...``: two-way sync (changes made in QuickBooks).

The tenant comes from ``--tenant`` or ``PGBOOKS_TENANT``; the actor of review actions from
``--actor``, ``PGBOOKS_USER`` or the OS user. Exit codes: 0 ok, 1 error, 2 usage, 3 needs
attention (``status``: open conflicts or failed changes), 4 database unreachable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from typing import Any

import psycopg
import typer

from pgbooks import exitcodes
from pgbooks.clidb import actor as actor_of
from pgbooks.clidb import connect, optional_tenant, require_tenant
from pgbooks.config import check_database, load_settings, redact_url
from pgbooks.output import emit, fail

app = typer.Typer(
    help="Two-way sync: QuickBooks webhooks, CDC sweeps, conflict policies and review actions.",
    no_args_is_help=True,
)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output.")
TENANT_OPT = typer.Option(None, "--tenant", "-t", help="Tenant id (default: $PGBOOKS_TENANT).")
ACTOR_OPT = typer.Option(None, "--actor", help="Who acts (default: $PGBOOKS_USER or OS user).")
REASON_OPT = typer.Option(..., "--reason", help="Why (recorded in the audit trail).")
EXCEPTION_ARG = typer.Argument(..., help="CONFLICT_REVIEW exception id (pgbooks exceptions list).")
TAKE_OPT = typer.Option(
    ..., "--take", help="FIELD=ours | FIELD=theirs | FIELD=<JSON value>; one per field."
)


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{value} seconds"


@app.command("enable")
def enable_cmd(
    tenant: str | None = TENANT_OPT,
    verifier_token: str = typer.Option(
        None,
        "--verifier-token",
        envvar="PGBOOKS_QBO_VERIFIER_TOKEN",
        help="Intuit webhook verifier token (or $PGBOOKS_QBO_VERIFIER_TOKEN); never printed.",
    ),
    disable: bool = typer.Option(False, "--disable", help="Stop sweeps and refuse webhooks."),
    overlap: float = typer.Option(None, "--overlap", help="CDC overlap window, seconds (300)."),
    sweep_min: float = typer.Option(None, "--sweep-min", help="Shortest sweep interval, s (30)."),
    sweep_max: float = typer.Option(None, "--sweep-max", help="Longest sweep interval, s (900)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Enable two-way sync for a connected tenant (verifier token, CDC overlap, sweep bounds)."""
    t = require_tenant(tenant)
    with connect() as conn:
        row = conn.execute(
            "SELECT api.inbound_realm__configure(%s, %s, %s, %s::interval, %s::interval,"
            " %s::interval)",
            (
                t,
                verifier_token,
                not disable,
                _seconds(overlap),
                _seconds(sweep_min),
                _seconds(sweep_max),
            ),
        ).fetchone()
    assert row is not None
    facts = row[0]
    human = (
        f"two-way sync {'enabled' if facts['enabled'] else 'disabled'} for tenant {t}"
        f" (verifier token {'set' if facts['has_verifier_token'] else 'MISSING: webhooks get 401'})"
        f"; CDC from {facts['cdc_watermark']}"
    )
    emit(facts, as_json=as_json, human=human)


@app.command("sweep")
def sweep_cmd(
    tenant: str | None = TENANT_OPT,
    due_only: bool = typer.Option(False, "--due-only", help="Only realms whose sweep is due."),
    as_json: bool = JSON_OPT,
) -> None:
    """Run the CDC sweep now (all enabled realms, or one), then apply what it found."""
    from pgbooks.inbound.runner import run_once

    url = load_settings().database_url
    t = optional_tenant(tenant)
    try:
        swept, stats = asyncio.run(run_once(url, t, sweep=True, force=not due_only))
    except psycopg.OperationalError as exc:
        fail(f"cannot reach {redact_url(url)}: {exc}")
        raise typer.Exit(exitcodes.NO_DATABASE) from exc
    errors = [s for s in swept if "error" in s]
    lines = [
        f"{s['tenant_id']}: "
        + (
            s["error"]
            if "error" in s
            else f"{s['objects']} object(s), {s['new_changes']} new; next {s['next_sweep_at']}"
        )
        for s in swept
    ] or ["no realm to sweep (pgbooks inbound enable)"]
    lines.append(f"applied {stats.applied} change(s): {stats.outcomes}")
    emit(
        {"sweeps": swept, "applied": stats.applied, "outcomes": stats.outcomes},
        as_json=as_json,
        human="\n".join(lines),
    )
    if errors:
        raise typer.Exit(exitcodes.ERROR)


@app.command("process")
def process_cmd(tenant: str | None = TENANT_OPT, as_json: bool = JSON_OPT) -> None:
    """Apply the pending inbound changes once (fetch, compare three ways, apply policies)."""
    from pgbooks.inbound.runner import run_once

    url = load_settings().database_url
    _swept, stats = asyncio.run(run_once(url, optional_tenant(tenant), sweep=False))
    emit(
        {"applied": stats.applied, "retried": stats.retried, "outcomes": stats.outcomes},
        as_json=as_json,
        human=f"applied {stats.applied} change(s): {stats.outcomes}",
    )


@app.command("run")
def run_cmd(
    poll: float = typer.Option(1.0, "--poll", help="Seconds between polls (LISTEN wakes earlier)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Apply inbound changes as they arrive and sweep each realm when due, until SIGTERM/SIGINT
    (a clean stop: exit 0 with what was applied)."""
    from pgbooks.inbound.runner import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    url = load_settings().database_url
    check_database(url)  # unreachable at start: exit 4; retried once running

    async def _run() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await run_forever(url, stop, poll)

    stats = asyncio.run(_run())
    emit(
        {"applied": stats.applied, "retried": stats.retried, "outcomes": stats.outcomes},
        as_json=as_json,
        human=f"stopped: applied {stats.applied} change(s): {stats.outcomes}",
    )


@app.command("status")
def status_cmd(tenant: str | None = TENANT_OPT, as_json: bool = JSON_OPT) -> None:
    """Per tenant: CDC watermark, next sweep, pending / failed changes, open conflicts."""
    with connect() as conn:
        cur = conn.execute("SELECT * FROM api.inbound__status(%s)", (optional_tenant(tenant),))
        names = [c.name for c in cur.description or []]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    lines = [
        f"{r['tenant_id']} realm {r['realm_id']}: {'on' if r['enabled'] else 'off'}, watermark "
        f"{r['cdc_watermark']:%Y-%m-%d %H:%M:%S}, next sweep {r['next_sweep_at']:%H:%M:%S} "
        f"(every {r['sweep_interval']}), pending {r['pending']}, failed {r['failed']}, "
        f"applied 24h {r['applied_24h']} {r['outcomes']}, open conflicts {r['open_conflicts']}"
        for r in rows
    ] or ["two-way sync is not enabled for any tenant (pgbooks inbound enable)"]
    emit({"tenants": rows}, as_json=as_json, human="\n".join(lines))
    if any(r["open_conflicts"] or r["failed"] for r in rows):
        raise typer.Exit(exitcodes.ATTENTION)


@app.command("policy")
def policy_cmd(
    entity: str = typer.Argument(..., help="QuickBooks entity (Invoice, Customer, ...) or '*'."),
    field: str = typer.Argument(..., help="Top-level field (PrimaryPhone, PrivateNote, ...)."),
    policy: str = typer.Argument(
        ..., help="app_wins | qbo_wins | last_writer_wins | review | default (remove the row)."
    ),
    note: str = typer.Option(None, "--note", help="Why."),
    tenant: str | None = TENANT_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Set the conflict policy of a field (amounts, tax and lines are always review)."""
    t = require_tenant(tenant)
    with connect() as conn:
        row = conn.execute(
            "SELECT api.conflict_policy__set(%s, %s, %s, %s, %s)",
            (t, entity, field, None if policy == "default" else policy, note),
        ).fetchone()
    assert row is not None
    emit(
        {"tenant_id": t, "entity": entity, "field": field, "policy": row[0]},
        as_json=as_json,
        human=f"{t}: {entity}.{field} -> {row[0]}",
    )


def _settle(sql: str, args: tuple[Any, ...], actor: str | None, as_json: bool = False) -> None:
    with connect(actor) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None
    res = row[0]
    human = (
        f"exception {res['exception_id']} settled by {res['action']} ({res['actor']}): "
        f"{res['choices']}" + ("; document sent again" if res["sent_again"] else "")
    )
    emit(res, as_json=as_json, human=human)


@app.command("take-ours")
def take_ours_cmd(
    exception_id: int = EXCEPTION_ARG,
    reason: str = REASON_OPT,
    tenant: str | None = TENANT_OPT,
    actor: str | None = ACTOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Resolve a CONFLICT_REVIEW with pgbooks' values (the document is sent again)."""
    _settle(
        "SELECT api.conflict__take_ours(%s, %s, %s, %s)",
        (require_tenant(tenant), exception_id, reason, actor_of(actor)),
        actor,
        as_json,
    )


@app.command("take-theirs")
def take_theirs_cmd(
    exception_id: int = EXCEPTION_ARG,
    reason: str = REASON_OPT,
    tenant: str | None = TENANT_OPT,
    actor: str | None = ACTOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Resolve a CONFLICT_REVIEW with QuickBooks' values (kept as the local record)."""
    _settle(
        "SELECT api.conflict__take_theirs(%s, %s, %s, %s)",
        (require_tenant(tenant), exception_id, reason, actor_of(actor)),
        actor,
        as_json,
    )


@app.command("merge")
def merge_cmd(
    exception_id: int = EXCEPTION_ARG,
    take: list[str] = TAKE_OPT,
    reason: str = REASON_OPT,
    tenant: str | None = TENANT_OPT,
    actor: str | None = ACTOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Resolve a CONFLICT_REVIEW field by field."""
    choices: dict[str, Any] = {}
    for item in take:
        field, sep, value = item.partition("=")
        if not sep or not field:
            fail(f"--take {item!r}: expected FIELD=ours|theirs|<JSON value>")
            raise typer.Exit(exitcodes.USAGE)
        if value in ("ours", "theirs"):
            choices[field] = value
        else:
            try:
                choices[field] = {"value": json.loads(value)}
            except ValueError as exc:
                fail(f"--take {field}: {value!r} is neither ours, theirs nor JSON")
                raise typer.Exit(exitcodes.USAGE) from exc
    from psycopg.types.json import Jsonb

    _settle(
        "SELECT api.conflict__merge(%s, %s, %s, %s, %s)",
        (require_tenant(tenant), exception_id, Jsonb(choices), reason, actor_of(actor)),
        actor,
        as_json,
    )
