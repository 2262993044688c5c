"""``pgbooks qbo import`` (QuickBooks history -> mirror + maps) and ``pgbooks qbo repost``."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

import psycopg
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from pgbooks import exitcodes
from pgbooks.config import load_settings, redact_url
from pgbooks.output import QUIET_OPT, emit, err_console, fail
from pgbooks.qbo import backfill as bf

app = typer.Typer(
    help="Historical backfill with QuickBooks: import a company's history, repost old orders.",
    no_args_is_help=True,
)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable summary on stdout.")


def _progress(as_json: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=as_json or not err_console.is_terminal,  # only on a terminal (pgbooks.output)
        transient=False,
    )


def _day(value: str, option: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=option) from exc


def _db_error(url: str, exc: psycopg.Error) -> typer.Exit:
    if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
        fail(f"cannot reach {redact_url(url)}: {exc}")
        return typer.Exit(exitcodes.NO_DATABASE)
    diag = exc.diag.message_primary if exc.diag and exc.diag.message_primary else str(exc)
    fail(f"{diag} ({exc.sqlstate})" if exc.sqlstate else diag)
    return typer.Exit(exitcodes.ERROR)


@app.command("import")
def import_cmd(
    realm: str = typer.Option(..., "--realm", help="QuickBooks company (realmId) to import."),
    tenant: str = typer.Option(
        None, "--tenant", help="Tenant connected to the realm (needed only if several are)."
    ),
    entities: str = typer.Option(
        None,
        "--entities",
        help=f"Comma-separated subset of: {', '.join(bf.ENTITIES)} (default: all).",
    ),
    page_size: int = typer.Option(bf.MAX_PAGE, "--page-size", help="MAXRESULTS per query."),
    restart: bool = typer.Option(
        False, "--restart", help="Ignore an interrupted run's checkpoint; read everything again."
    ),
    maps: bool = typer.Option(
        True, "--maps/--no-maps", help="Feed item/tax-code maps and link customers afterwards."
    ),
    pause: float = typer.Option(
        0.0, "--pause", help="Seconds to wait between pages (spare a busy realm)."
    ),
    as_json: bool = JSON_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Import customers, items, accounts, tax codes and documents of a QuickBooks company.

    Pages the query API into sync.qbo_mirror; resumes an interrupted run from its checkpoint;
    re-running updates rows in place (never duplicates). Exit 0 ok, 1 error, 4 no database.
    """
    url = load_settings().database_url
    try:
        names = bf.parse_entities(entities)
    except bf.BackfillError as exc:
        raise typer.BadParameter(str(exc), param_hint="--entities") from exc
    with _progress(as_json or quiet) as progress:
        task = progress.add_task(f"import {realm}", total=None)

        def on_total(total: int) -> None:
            progress.update(task, total=total)

        def on_rows(entity: str, n: int, _total: int | None) -> None:
            progress.update(task, advance=n, description=f"import {realm} {entity}")

        try:
            result = asyncio.run(
                bf.run_import(
                    url,
                    realm,
                    tenant_id=tenant,
                    entities=names,
                    page_size=page_size,
                    restart=restart,
                    pause=pause,
                    apply_maps=maps,
                    on_total=on_total,
                    on_rows=on_rows,
                )
            )
        except bf.BackfillError as exc:
            fail(str(exc))
            raise typer.Exit(exitcodes.ERROR) from exc
        except psycopg.Error as exc:
            raise _db_error(url, exc) from exc
    data: dict[str, Any] = {
        "tenant_id": result.tenant_id,
        "realm_id": result.realm_id,
        "rows": result.rows,
        "entities": result.entities,
        "pages": result.pages,
        "resumed": result.resumed,
        "skipped": result.skipped,
        "maps": result.maps,
        "seconds": result.seconds,
    }
    human = (
        f"imported {result.rows} rows of realm {realm} for tenant {result.tenant_id} "
        f"in {result.pages} pages ({result.seconds} s)"
    )
    if result.resumed or result.skipped:
        human += f"; resumed {', '.join(result.resumed) or '-'}"
        human += f", already done {', '.join(result.skipped) or '-'}"
    if result.maps:
        human += f"\nmaps: {result.maps}"
    emit(data, as_json=as_json, human=human)


@app.command("repost")
def repost_cmd(
    tenant: str = typer.Option(..., "--tenant", help="Tenant whose orders to repost."),
    date_from: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD, UTC), included."),
    date_to: str = typer.Option(..., "--to", help="Last day (YYYY-MM-DD, UTC), excluded."),
    batch: int = typer.Option(50, "--batch", help="Orders per step (one transaction each)."),
    restart: bool = typer.Option(
        False, "--restart", help="Ignore an interrupted run's checkpoint; handle every order again."
    ),
    pause: float = typer.Option(
        0.0, "--pause", help="Seconds to wait between steps (spare a busy database)."
    ),
    as_json: bool = JSON_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Re-derive the orders placed in [--from, --to) and enqueue what QuickBooks lacks.

    Documents QuickBooks already holds (same DocNumber in the imported mirror) are linked, not
    re-created; documents already posted are left alone. Resumes from its checkpoint. Delivery is
    done by `pgbooks worker`. Exit 0 ok, 1 error, 3 some documents need attention, 4 no database.
    """
    url = load_settings().database_url
    d_from, d_to = _day(date_from, "--from"), _day(date_to, "--to")
    with _progress(as_json or quiet) as progress:
        task = progress.add_task(f"repost {tenant} {d_from}..{d_to}", total=None)

        def on_plan(total: int, done: int) -> None:
            progress.update(task, total=total, completed=done)

        def on_step(n: int) -> None:
            progress.update(task, advance=n)

        try:
            result = bf.run_repost(
                url,
                tenant,
                d_from,
                d_to,
                batch=batch,
                restart=restart,
                pause=pause,
                on_plan=on_plan,
                on_step=on_step,
            )
        except psycopg.Error as exc:
            raise _db_error(url, exc) from exc
    data: dict[str, Any] = {
        "tenant_id": tenant,
        "from": result.date_from,
        "to": result.date_to,
        "total": result.total,
        "done_before": result.done_before,
        "orders": result.orders,
        "resumed": result.resumed,
        "completed": result.completed,
        "outcomes": result.outcomes,
        "dependencies": result.dependencies,
        "errors": result.errors,
        "seconds": result.seconds,
    }
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(result.outcomes.items())) or "none"
    human = (
        f"reposted {result.orders} orders of {tenant} in [{d_from}, {d_to})"
        + (f" (resumed after {result.done_before})" if result.resumed else "")
        + f"; documents: {outcomes}"
    )
    if result.dependencies:
        deps = ", ".join(f"{n} {k}" for k, n in sorted(result.dependencies.items()))
        human += f"; customers/items: {deps}"

    for err in result.errors[:20]:
        human += f"\n  order {err.get('order')}: {err.get('error')}"
    emit(data, as_json=as_json, human=human)
    if result.attention or result.errors:
        raise typer.Exit(exitcodes.ATTENTION)
