"""`pgbooks sandbox ...` commands."""

from __future__ import annotations

import json
import signal
from typing import Optional

import typer

from .config import DEMO_REALM, FaultConfig, SandboxConfig, ThrottleConfig

app = typer.Typer(help="Local QuickBooks Online sandbox (simulator).", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Local QuickBooks Online sandbox (simulator)."""


@app.command()
def serve(
    port: int = typer.Option(8765, help="TCP port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    seed: int = typer.Option(0, help="Seed for deterministic fault injection."),
    snapshot: Optional[str] = typer.Option(  # noqa: UP045 - typer needs Optional
        None, help="JSON snapshot: loaded at start if present, written at shutdown."
    ),
    throttle: bool = typer.Option(
        True, "--throttle/--no-throttle", help="Enforce QBO's per-realm rate limits."
    ),
    per_minute: int = typer.Option(500, help="Requests per minute per realm."),
    per_second: int = typer.Option(10, help="Requests per second per realm."),
    concurrent: int = typer.Option(10, help="Concurrent requests per realm."),
    batch_per_minute: int = typer.Option(40, help="Batch requests per minute per realm."),
    realm: str = typer.Option(DEMO_REALM, help="Realm id of the demo company."),
    multicurrency: bool = typer.Option(False, help="Enable multicurrency in the demo company."),
    faults: Optional[str] = typer.Option(  # noqa: UP045
        None,
        help="Fault injection for the demo realm as JSON, e.g. "
        '\'{"lost_response_rate":0.1,"latency_ms":50}\'.',
    ),
    cdc_window_days: int = typer.Option(30, help="CDC changedSince window (0 = unlimited)."),
    access_log: bool = typer.Option(False, help="Log every request."),
) -> None:
    """Serve the QuickBooks Online simulator over HTTP."""
    from .server import run

    cfg = SandboxConfig(
        host=host,
        port=port,
        seed=seed,
        snapshot=snapshot,
        demo_realm=realm,
        multicurrency=multicurrency,
        throttle=ThrottleConfig(throttle, per_minute, per_second, concurrent, batch_per_minute),
        cdc_window_days=cdc_window_days or None,
        access_log=access_log,
    )
    if faults:
        fc = FaultConfig()
        fc.update(json.loads(faults))
        cfg.faults[realm] = fc
    # uvicorn stops gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler that
    # was there before it: a no-op here, so a requested stop (snapshot written) is exit code 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    run(cfg)
