"""``pgbooks status``: the one screen an operator looks at first.

Per tenant/realm: delivery backlog (deliverable pending + in flight; held or blocked counted
apart), oldest pending age, documents accepted in the last 5 minutes and hour, failures in the
last hour, open exceptions, access-token and refresh-token expiry, paused flag, the QuickBooks
books closing date (as last read), last successful delivery; plus raw webhook events waiting or
quarantined. Exit code 3 (needs attention) when a realm is paused or not connected, or there are
open exceptions or quarantined events; 4 when the database is unreachable.
"""

from __future__ import annotations

from typing import Any

import psycopg
import typer
from psycopg.rows import dict_row
from rich.console import Console
from rich.table import Table

from pgbooks import exitcodes
from pgbooks.config import load_settings, redact_url
from pgbooks.output import console, emit, fail

REALMS_SQL = "SELECT * FROM api.realms__status()"
CLOSE_SQL = "SELECT tenant_id, book_close_date FROM api.qbo_close__realms()"

RAW_SQL = """
SELECT status, count(*) AS events FROM ingest.raw_events
WHERE status IN ('pending', 'quarantined') GROUP BY status
"""


def collect(url: str) -> dict[str, Any]:
    """Read the status facts (one snapshot, read-only transaction)."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.execute("SET TRANSACTION READ ONLY")
        realms = conn.execute(REALMS_SQL).fetchall()
        closes = {r["tenant_id"]: r["book_close_date"] for r in conn.execute(CLOSE_SQL).fetchall()}
        raw = {r["status"]: r["events"] for r in conn.execute(RAW_SQL).fetchall()}
        now = conn.execute("SELECT now() AS now").fetchone()
    assert now is not None
    for r in realms:
        # QuickBooks books closing date (AccountingInfoPrefs.BookCloseDate), as last read
        r["qbo_book_close_date"] = closes.get(r["tenant_id"])
        expiry = r["access_expires_at"]
        r["token_expired"] = bool(r["realm_id"]) and (expiry is None or expiry <= now["now"])
        hard = r["refresh_hard_expires_at"]
        r["reconnect_due_days"] = None if hard is None else (hard - now["now"]).days
    attention = bool(raw.get("quarantined")) or any(
        r["paused"] or r["open_exceptions"] or (r["realm_id"] is None) for r in realms
    )
    return {"realms": realms, "raw_events": raw, "attention": attention, "at": now["now"]}


def status_cmd(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Per realm: backlog, throughput, errors, token expiry, last sync (exit 3: needs attention)."""
    url = load_settings().database_url
    try:
        facts = collect(url)
    except psycopg.OperationalError as exc:
        fail(f"cannot reach {redact_url(url)}: {exc}")
        raise typer.Exit(exitcodes.NO_DATABASE) from exc
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction) as exc:
        fail(f"database not migrated ({exc.diag.message_primary}): run `pgbooks db migrate`")
        raise typer.Exit(exitcodes.ATTENTION) from exc
    if as_json:
        emit(facts, as_json=True, human="")
    else:
        _print(facts)
    if facts["attention"]:
        raise typer.Exit(exitcodes.ATTENTION)


def _print(facts: dict[str, Any]) -> None:
    table = Table(title=f"pgbooks status at {facts['at']:%Y-%m-%d %H:%M:%S %Z}")
    for col in (
        "tenant",
        "realm",
        "backlog",
        "oldest",
        "ok 5m/1h",
        "fail 1h",
        "exceptions",
        "token",
        "books closed",
        "last success",
    ):
        table.add_column(col)
    for r in facts["realms"]:
        if r["realm_id"] is None:
            token = "not connected"
        elif r["paused"]:
            token = f"PAUSED: {r['paused_reason'] or ''}"
        else:
            token = "expired (refresh due)" if r["token_expired"] else "valid"
            if r["reconnect_due_days"] is not None:
                token += f", reconnect in {r['reconnect_due_days']} d"
        table.add_row(
            r["tenant_id"],
            r["realm_id"] or "-",
            f"{r['backlog']}" + (f" (+{r['held']} held/blocked)" if r["held"] else ""),
            "-" if r["oldest_pending_s"] is None else f"{r['oldest_pending_s']} s",
            f"{r['accepted_5m']}/{r['accepted_1h']}",
            str(r["failures_1h"]),
            str(r["open_exceptions"]),
            token,
            "-" if r["qbo_book_close_date"] is None else f"{r['qbo_book_close_date']}",
            "-" if r["last_success_at"] is None else f"{r['last_success_at']:%Y-%m-%d %H:%M:%S}",
        )
    # piped output (no terminal) must not wrap cells: give the table the width it needs
    out = console if console.is_terminal else Console(width=160)
    out.print(table)
    raw = facts["raw_events"]
    out.print(
        f"raw webhook events: {raw.get('pending', 0)} pending, "
        f"{raw.get('quarantined', 0)} quarantined",
        highlight=False,
    )
