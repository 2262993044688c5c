"""`pgbooks receive`, `backfill`, `ingest process|status` as a user runs them."""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from pgbooks.ingest import signatures as sig

from .conftest import Cli, free_port

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "realdata" / "ingest"
ORDER = json.loads((FIXTURES / "shopify__slince__Order__view.json").read_bytes())["order"]
WEBHOOK_SECRET = "shop-webhook-secret-for-cli-tests"


def _shop(db: psycopg.Connection[Any]) -> None:
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency,"
        " webhook_secret, external_account_id)"
        " VALUES ('acme', 'shop', 'shopify', 'Shop', 'USD', %s, 'acme.myshopify.com')",
        (WEBHOOK_SECRET,),
    )


def _wait(what: str, check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.cli("receive")
def test_receive_stores_and_applies_a_signed_webhook_then_stops_on_sigterm(
    cli: Cli, db: psycopg.Connection[Any]
) -> None:
    _shop(db)
    port = free_port()
    server = cli.start("receive", "--port", str(port), "--process")
    base = f"http://127.0.0.1:{port}"
    assert server.wait_http(f"{base}/healthz").json() == {"ok": True}
    body = json.dumps(ORDER).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": sig.sign_base64(WEBHOOK_SECRET, body),
    }
    r = httpx.post(f"{base}/webhooks/shopify/acme/shop", content=body, headers=headers)
    assert r.status_code == 200, r.text
    forged = httpx.post(
        f"{base}/webhooks/shopify/acme/shop",
        content=body,
        headers=headers | {"X-Shopify-Hmac-Sha256": sig.sign_base64("wrong", body)},
    )
    assert forged.status_code == 401

    def applied() -> bool:
        row = db.execute("SELECT count(*) FROM orders.orders WHERE tenant_id = 'acme'").fetchone()
        return row == (1,)

    _wait("the receiver's processor to apply the order", applied)
    stopped = server.terminate()
    assert stopped.code == 0, stopped
    assert WEBHOOK_SECRET not in stopped.stdout


@pytest.mark.cli("receive")
def test_receive_routes_by_account_and_limits_the_rate_from_options_and_environment(
    cli: Cli, db: psycopg.Connection[Any]
) -> None:
    _shop(db)
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency,"
        " webhook_secret, external_account_id)"
        " VALUES ('acme', 'pay', 'stripe', 'Pay', 'USD', 'whsec_cli', 'acct_cliowner')"
    )
    port = free_port()
    # --rate from the environment (PGBOOKS_RECEIVE_RATE), the rest as options.
    server = cli.start(
        "receive",
        "--port",
        str(port),
        "--unknown-rate",
        "0.01/s:1",
        "--stripe-account",
        "acct_cliowner",
        env={"PGBOOKS_RECEIVE_RATE": "0.01/s:2"},
    )
    base = f"http://127.0.0.1:{port}"
    server.wait_http(f"{base}/healthz")
    body = json.dumps(ORDER).encode()

    def shop(domain: str = "ACME.myshopify.com") -> dict[str, str]:
        return {
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": domain,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Hmac-Sha256": sig.sign_base64(WEBHOOK_SECRET, body),
        }

    event = json.dumps({"id": "evt_cli_1", "object": "event", "type": "plan.created"}).encode()
    stripe = {"Stripe-Signature": sig.sign_stripe("whsec_cli", event, int(time.time()))}
    codes = [
        httpx.post(f"{base}/webhooks/shopify", content=body, headers=shop()).status_code,
        httpx.post(f"{base}/webhooks/stripe", content=event, headers=stripe).status_code,
        httpx.post(f"{base}/webhooks/shopify", content=body, headers=shop()).status_code,
    ]
    assert codes == [200, 200, 429]  # burst 2 per tenant
    unknown = [
        httpx.post(f"{base}/webhooks/shopify", content=body, headers=shop(f"u{i}.myshopify.com"))
        for i in range(2)
    ]
    assert [r.status_code for r in unknown] == [404, 429]  # burst 1 per source address
    assert int(unknown[1].headers["Retry-After"]) >= 99  # 0.01/s: a token every 100 s
    stopped = server.terminate()
    assert stopped.code == 0, stopped
    rows = db.execute(
        "SELECT tenant_id, channel_id, status FROM ingest.raw_events ORDER BY raw_event_id"
    ).fetchall()
    assert rows == [
        ("acme", "shop", "pending"),
        ("acme", "pay", "pending"),
        ("(unrouted)", "(unrouted)", "rejected"),
    ]
    counted = db.execute(
        "SELECT bucket_kind, refused FROM ingest.receiver_throttles ORDER BY 1"
    ).fetchall()
    assert counted == [("ip", 1), ("tenant", 1)]


@pytest.mark.cli("receive")
def test_receive_refuses_a_malformed_rate(cli: Cli) -> None:
    result = cli("receive", "--port", "0", "--rate", "lots")
    assert result.code == 2, result
    assert "expected RATE/s:BURST" in result.stderr


@pytest.mark.cli("backfill", "ingest status", "ingest process")
def test_backfill_then_process_and_count(
    cli: Cli, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    _shop(db)
    pages = tmp_path / "pages"
    pages.mkdir()
    for p in range(2):
        orders = []
        for i in range(2):
            o = copy.deepcopy(ORDER)
            o["id"] = 9000 + 2 * p + i
            orders.append(o)
        (pages / f"{p:02d}.json").write_text(json.dumps({"orders": orders}))
    args = (
        "--source",
        str(pages),
        "--channel",
        "shop",
        "--tenant",
        "acme",
        "--platform",
        "shopify",
    )

    first = cli("backfill", "orders", *args, "--json")
    assert first.code == 0, first
    assert first.json() == {"pages": 2, "records": 4, "statuses": {"pending": 4}, "completed": True}
    again = cli("backfill", "orders", *args)  # resumable: the cursor says it is done
    assert again.code == 0, again
    assert "complete" in again.stdout and "more pages remain" not in again.stdout

    counts = cli("ingest", "status", "--json")
    assert counts.code == 0, counts
    assert counts.json() == {"counts": [{"platform": "shopify", "status": "pending", "events": 4}]}

    done = cli("ingest", "process", "--once", "--json")
    assert done.code == 0, done
    assert done.json() == {"claimed": 4, "applied": 4, "quarantined": 0}
    human = cli("ingest", "status")
    assert human.code == 0 and "shopify" in human.stdout and "applied" in human.stdout
    assert db.execute("SELECT count(*) FROM orders.orders").fetchone() == (4,)

    # a record that cannot be normalized is quarantined: exit 3 (needs a human), and says so
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "00.json").write_text(json.dumps({"orders": [{"id": 1, "updated_at": "2024-01-01"}]}))
    cli("backfill", "orders", *args[2:], "--source", str(bad), "--reset")
    quarantined = cli("ingest", "process", "--once")
    assert quarantined.code == 3, quarantined
    assert "1 quarantined" in quarantined.stdout
    assert cli("ingest", "status").code == 3
