"""``pgbooks connect`` (OAuth authorization-code flow) and ``pgbooks worker`` (delivery)."""

from __future__ import annotations

import logging
from typing import Any

import typer

from pgbooks import exitcodes
from pgbooks.config import load_settings
from pgbooks.output import emit, fail


def connect_cmd(
    tenant: str = typer.Option(..., "--tenant", help="Tenant to connect (orders.tenants)."),
    base_url: str = typer.Option(
        ..., "--base-url", help="QuickBooks API host, e.g. https://quickbooks.api.intuit.com."
    ),
    discovery_url: str = typer.Option(
        None,
        "--discovery-url",
        help="OpenID discovery document (default: <base-url>/.well-known/openid_configuration).",
    ),
    realm: str = typer.Option(None, "--realm", help="Company (realmId) to authorize."),
    code: str = typer.Option(
        None, "--code", help="Authorization code from the callback URL (browser flow)."
    ),
    redirect_uri: str = typer.Option("http://127.0.0.1:8711/callback", "--redirect-uri"),
    discover: bool = typer.Option(
        True,
        "--discover/--no-discover",
        help="Read the company's accounts, items, tax codes and preferences as tenant defaults.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Authorize a QuickBooks company for a tenant and store its tokens (encrypted)."""
    from pgbooks.sync.crypto import SecretKeyError
    from pgbooks.sync.oauth import AuthLost, connect

    url = load_settings().database_url
    disco = discovery_url or f"{base_url.rstrip('/')}/.well-known/openid_configuration"
    try:
        facts = connect(
            url,
            tenant,
            api_base_url=base_url,
            discovery_url=disco,
            realm_id=realm,
            code=code,
            redirect_uri=redirect_uri,
            discover_defaults=discover,
        )
    except (AuthLost, SecretKeyError) as exc:
        fail(str(exc))
        raise typer.Exit(exitcodes.ERROR) from exc
    human = f"connected tenant {tenant} to realm {facts['realm_id']}"
    missing = (facts.get("defaults") or {}).get("missing_roles")
    if facts.get("defaults") is not None:
        human += "\ndefaults discovered" + (
            f"; no account found for: {', '.join(missing)} (set them in books.account_map)"
            if missing
            else ""
        )
    emit(facts, as_json=as_json, human=human)


def worker_cmd(
    name: str = typer.Option(None, "--name", help="Worker name (default host:pid)."),
    loops: int = typer.Option(4, "--loops", help="Concurrent claim loops in this process."),
    until_idle: bool = typer.Option(
        False, "--until-idle", help="Exit when nothing is pending or in flight."
    ),
    inbound: bool = typer.Option(
        False,
        "--inbound/--no-inbound",
        help="Also run two-way sync in this process (what `pgbooks inbound run` does).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Deliver the outbox to QuickBooks (claim -> HTTP -> complete/fail) until stopped."""
    import asyncio

    from pgbooks.sync.worker import Worker, WorkerConfig

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # One line per HTTP request is noise at hundreds of requests/s (and costs CPU).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    url = load_settings().database_url
    worker = Worker(url, name, WorkerConfig(loops=loops))

    async def _run() -> Any:
        if not inbound:
            return await worker.run(until_idle=until_idle)
        from pgbooks.inbound.runner import run_forever

        side = asyncio.create_task(run_forever(url, worker.stop))
        try:
            return await worker.run(until_idle=until_idle)
        finally:
            worker.stop.set()
            await side

    try:
        stats = asyncio.run(_run())
    except KeyboardInterrupt:
        raise typer.Exit(exitcodes.OK) from None
    emit(stats.__dict__, as_json=as_json, human=f"worker stopped: {stats}")


def register(app: typer.Typer) -> None:
    """Mount ``connect`` and ``worker`` on the main ``pgbooks`` command."""
    app.command("connect")(connect_cmd)
    app.command("worker")(worker_cmd)
