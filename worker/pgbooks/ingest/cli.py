"""``pgbooks receive``, ``pgbooks backfill RESOURCE`` and ``pgbooks ingest process|status``."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import typer
from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

from pgbooks import exitcodes
from pgbooks.config import check_database, load_settings, redact_url
from pgbooks.ingest import backfill as bf
from pgbooks.ingest import processor, ratelimit
from pgbooks.output import JSON_OPT, QUIET_OPT, emit, fail, progress, stop_signals_exit_zero

app = typer.Typer(no_args_is_help=True)
ingest_app = typer.Typer(
    help="Raw webhook events: process the queue, show counts.", no_args_is_help=True
)
app.add_typer(ingest_app, name="ingest")


@app.command("receive")
def receive_cmd(
    port: int = typer.Option(8080, "--port", help="TCP port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (0.0.0.0 for all)."),
    max_body: int = typer.Option(1024 * 1024, "--max-body", help="Largest accepted body, bytes."),
    pool_size: int = typer.Option(4, "--pool-size", help="Database connections."),
    process: bool = typer.Option(
        False, "--process/--no-process", help="Also run one raw-event processor in this process."
    ),
    rate: str = typer.Option(
        str(ratelimit.TENANT_DEFAULT),
        "--rate",
        envvar="PGBOOKS_RECEIVE_RATE",
        help="Deliveries per tenant, RATE/s:BURST token bucket (e.g. 100/s:1000; 0 = no limit).",
    ),
    unknown_rate: str = typer.Option(
        str(ratelimit.UNKNOWN_DEFAULT),
        "--unknown-rate",
        envvar="PGBOOKS_RECEIVE_UNKNOWN_RATE",
        help="Requests per source IP to an unknown tenant, channel or account, RATE/s:BURST.",
    ),
    stripe_account: str = typer.Option(
        None,
        "--stripe-account",
        envvar="PGBOOKS_STRIPE_ACCOUNT",
        help="Stripe account (acct_...) of routed Stripe events without an 'account' field.",
    ),
) -> None:
    """Serve the webhook receiver: POST /webhooks/<platform>(/<tenant>/<channel>).

    Stores every delivery verbatim in ingest.raw_events, then acknowledges; normalization runs in
    `pgbooks ingest process` (or here with --process). POST /webhooks/<platform> routes by the
    account the delivery names (shop domain, site URL, Stripe account).
    """
    import uvicorn

    from pgbooks.ingest.receiver import ReceiverConfig, create_app

    try:
        tenant_rate = ratelimit.parse_rate(rate)
        ip_rate = ratelimit.parse_rate(unknown_rate)
    except ValueError as exc:
        fail(str(exc))
        raise typer.Exit(exitcodes.USAGE) from exc
    url = load_settings().database_url
    check_database(url)  # unreachable at start: exit 4 (pgbooks.cli.main)
    stop = threading.Event()
    worker: threading.Thread | None = None
    if process:
        worker = threading.Thread(
            target=processor.run, args=(url,), kwargs={"stop": stop}, daemon=True
        )
        worker.start()
    app_ = create_app(
        ReceiverConfig(
            url,
            max_body=max_body,
            pool_size=pool_size,
            rate=tenant_rate,
            unknown_rate=ip_rate,
            stripe_account=stripe_account,
        )
    )
    try:
        with stop_signals_exit_zero():  # SIGTERM: graceful stop, exit 0
            uvicorn.run(app_, host=host, port=port, log_level="warning", access_log=False)
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=5)


@ingest_app.command("process")
def process_cmd(
    once: bool = typer.Option(False, "--once", help="Drain the queue once, then exit."),
    batch: int = typer.Option(100, "--batch", help="Events per transaction."),
    poll: float = typer.Option(5.0, "--poll", help="Seconds between polls without notification."),
    as_json: bool = JSON_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Normalize pending raw events (applied or quarantined with a reason).

    With --once, a progress bar shows on a terminal (stderr), never with --json or --quiet.
    Exit 3 when some events were quarantined."""
    url = load_settings().database_url
    try:
        if once:
            with (
                psycopg.connect(url, autocommit=True) as conn,
                progress(quiet=as_json or quiet) as bar,
            ):
                row = conn.execute(
                    "SELECT coalesce(sum(events), 0) FROM api.raw_events__counts()"
                    " WHERE status = 'pending'"
                ).fetchone()
                task = bar.add_task("process raw events", total=int(row[0]) if row else None)

                def on_batch(t: processor.Totals) -> None:
                    bar.update(task, completed=t.claimed)

                totals = processor.drain(conn, batch, on_batch)
        else:
            totals = processor.run(url, batch=batch, poll_interval=poll)
    except psycopg.OperationalError as exc:
        fail(f"cannot reach {redact_url(url)}: {exc}")
        raise typer.Exit(exitcodes.NO_DATABASE) from exc
    data = {"claimed": totals.claimed, "applied": totals.applied, "quarantined": totals.quarantined}
    emit(
        data,
        as_json=as_json,
        human=f"processed {totals.claimed}: {totals.applied} applied, "
        f"{totals.quarantined} quarantined",
    )
    if totals.quarantined:
        raise typer.Exit(exitcodes.ATTENTION)


@ingest_app.command("status")
def status_cmd(as_json: bool = JSON_OPT) -> None:
    """Raw events per platform and status (exit 3 when some are quarantined)."""
    url = load_settings().database_url
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT platform, status, events FROM api.raw_events__counts()"
            ).fetchall()
    except psycopg.OperationalError as exc:
        fail(f"cannot reach {redact_url(url)}: {exc}")
        raise typer.Exit(exitcodes.NO_DATABASE) from exc
    data: dict[str, Any] = {
        "counts": [{"platform": p, "status": s, "events": n} for p, s, n in rows]
    }
    human = "\n".join(f"{p:12} {s:12} {n}" for p, s, n in rows) or "no raw events"
    emit(data, as_json=as_json, human=human)
    if any(s == "quarantined" for _, s, _ in rows):
        raise typer.Exit(exitcodes.ATTENTION)


@app.command("backfill")
def backfill_cmd(
    resource: str = typer.Argument(..., help="What to page: orders, refunds, transactions, ..."),
    source: str = typer.Option(
        ..., "--source", help="A directory of JSON pages or an http(s) URL."
    ),
    channel: str = typer.Option(..., "--channel", help="Channel id the records belong to."),
    tenant: str = typer.Option(..., "--tenant", help="Tenant id owning the channel."),
    platform: str = typer.Option(..., "--platform", help="shopify, woocommerce or stripe."),
    topic: str = typer.Option(None, "--topic", help="Topic to record (default per platform)."),
    reset: bool = typer.Option(False, "--reset", help="Forget the cursor and start over."),
    max_pages: int = typer.Option(None, "--max-pages", help="Stop after this many pages."),
    as_json: bool = JSON_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Page a source export into ingest.raw_events, resumable from its stored cursor.

    A progress bar shows on a terminal (stderr), never with --json or --quiet."""
    url = load_settings().database_url
    with progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[records]} records, page {task.completed}"),
        TimeElapsedColumn(),
        quiet=as_json or quiet,
    ) as bar:
        task = bar.add_task(f"backfill {resource}", total=None, records=0)

        def on_page(_page: bf.Page, res: bf.Result) -> None:
            bar.update(task, completed=res.pages, records=res.records)

        try:
            res = bf.run(
                url,
                tenant_id=tenant,
                channel_id=channel,
                platform=platform,
                resource=resource,
                source=source,
                topic=topic,
                reset=reset,
                max_pages=max_pages,
                on_page=on_page,
            )
        except bf.BackfillError as exc:
            fail(str(exc))
            raise typer.Exit(exitcodes.ERROR) from exc
        except psycopg.OperationalError as exc:
            fail(f"cannot reach {redact_url(url)}: {exc}")
            raise typer.Exit(exitcodes.NO_DATABASE) from exc
    emit(
        {
            "pages": res.pages,
            "records": res.records,
            "statuses": res.statuses,
            "completed": res.completed,
        },
        as_json=as_json,
        human=f"{res.pages} pages, {res.records} records "
        f"({', '.join(f'{n} {s}' for s, n in sorted(res.statuses.items())) or 'none new'})"
        f"{'; complete' if res.completed else '; more pages remain'}",
    )
