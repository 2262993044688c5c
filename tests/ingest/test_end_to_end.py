"""Webhook → receiver → ingest.raw_events → processor → orders rows, with the real normalizers.

Real payloads from tests/fixtures/realdata/ingest (SOURCES.md there), signed like the platforms
sign them and posted over HTTP. Variants (wrong currency, negative quantity) change one field of
the real Shopify order.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg

from pgbooks.ingest import backfill as bf
from pgbooks.ingest import processor
from pgbooks.ingest import signatures as sig

from .conftest import SECRETS, TENANT, fixture_bytes, raw_event

SHOP = f"/webhooks/shopify/{TENANT}/shop"
WOO = f"/webhooks/woocommerce/{TENANT}/woo"
STRIPE = f"/webhooks/stripe/{TENANT}/str"
ORDER_FILE = "shopify__slince__Order__view.json"


def post_shopify(
    client: httpx.Client, body: bytes, topic: str = "orders/create", webhook_id: str | None = None
) -> dict[str, Any]:
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": sig.sign_base64(str(SECRETS["shop"][1]), body),
    }
    r = client.post(SHOP, content=body, headers=headers)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def events(db: psycopg.Connection[Any], subject_id: str) -> list[str]:
    rows = db.execute(
        "SELECT event_type FROM orders.events WHERE tenant_id = %s AND subject_id = %s"
        " ORDER BY event_id",
        (TENANT, subject_id),
    ).fetchall()
    return [r[0] for r in rows]


def test_shopify_order_webhook_becomes_orders_rows_once(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes(ORDER_FILE)
    first = post_shopify(receiver, body, webhook_id="wh-e2e")
    again = post_shopify(receiver, body, webhook_id="wh-e2e")
    assert (first["status"], again["status"]) == ("pending", "duplicate")
    # Nothing is parsed on the request path.
    assert channels.execute("SELECT count(*) FROM orders.orders").fetchone() == (0,)

    totals = processor.drain(channels)
    assert (totals.claimed, totals.applied, totals.quarantined) == (1, 1, 0)
    row = raw_event(channels, first["raw_event_id"])
    assert (row["status"], row["result"]) == ("applied", "order:450789469")
    header = channels.execute(
        "SELECT currency, stated_total FROM orders.orders"
        " WHERE tenant_id = %s AND channel_id = 'shop' AND order_id = '450789469'",
        (TENANT,),
    ).fetchone()
    assert header == ("USD", Decimal("598.94"))
    # The docs example's subtotal disagrees with its lines: stored and flagged, not plugged.
    flags = channels.execute(
        "SELECT reason_code FROM orders.order_flags WHERE order_id = '450789469'"
    ).fetchall()
    assert flags == [("TOTALS_MISMATCH",)]
    assert events(channels, "450789469") == ["OrderCreated", "OrderFlagged"]
    # The duplicate was stored and never applied: one OrderCreated only.
    assert raw_event(channels, again["raw_event_id"])["attempts"] == 0


def test_wrong_currency_and_negative_quantity_are_quarantined_and_kept(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    order = json.loads(fixture_bytes(ORDER_FILE))
    wrong = copy.deepcopy(order)
    wrong["order"]["currency"] = "XYZ"
    wrong["order"]["id"] = 1
    negative = copy.deepcopy(order)
    negative["order"]["line_items"][0]["quantity"] = -1
    negative["order"]["id"] = 2
    bodies = [json.dumps(wrong).encode(), json.dumps(negative).encode()]
    ids = [post_shopify(receiver, b)["raw_event_id"] for b in bodies]
    good = post_shopify(receiver, fixture_bytes(ORDER_FILE))["raw_event_id"]

    totals = processor.drain(channels)
    assert (totals.applied, totals.quarantined) == (1, 2)
    cur, neg = (raw_event(channels, i) for i in ids)
    assert cur["status"] == neg["status"] == "quarantined"
    assert cur["reason_code"] == neg["reason_code"] == "NORMALIZER_REJECTED"
    assert cur["error_detail"]["sqlstate"] == "PB101" and "XYZ" in cur["message"]
    assert neg["error_detail"]["sqlstate"] == "PB103" and "quantity" in neg["message"]
    assert [bytes(cur["body"]), bytes(neg["body"])] == bodies  # the raw delivery is kept
    assert raw_event(channels, good)["status"] == "applied"
    assert channels.execute(
        "SELECT array_agg(order_id ORDER BY order_id) FROM orders.orders"
    ).fetchone() == (["450789469"],)
    opened = channels.execute(
        "SELECT count(*) FROM sync.exceptions WHERE source_type = 'raw_event'"
        " AND reason_code = 'NORMALIZER_REJECTED' AND status = 'open'"
    ).fetchone()
    assert opened == (2,)


def test_stripe_and_woocommerce_webhooks_reach_orders(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    charge = json.loads(fixture_bytes("stripe__derived__stripe_mock__charge.json"))
    event = {
        "id": "evt_e2e_1",
        "object": "event",
        "type": "charge.succeeded",
        "created": int(time.time()),
        "data": {"object": charge},
    }
    body = json.dumps(event).encode()
    stamp = int(time.time())
    r = receiver.post(
        STRIPE,
        content=body,
        headers={"Stripe-Signature": sig.sign_stripe(str(SECRETS["str"][1]), body, stamp)},
    )
    assert r.status_code == 200, r.text
    stripe_id = r.json()["raw_event_id"]
    # A real Stripe event of a kind pgbooks does not book (plan.created): quarantined, kept.
    plan = fixture_bytes("stripe__derived__stripe_mock__event.json")
    r = receiver.post(
        STRIPE,
        content=plan,
        headers={"Stripe-Signature": sig.sign_stripe(str(SECRETS["str"][1]), plan, stamp)},
    )
    plan_id = r.json()["raw_event_id"]

    wc = json.loads(fixture_bytes("woocommerce__derived__wcdocs_v3_orders_examples.json"))
    wc_body = json.dumps(wc[0]["body"]).encode()
    r = receiver.post(
        WOO,
        content=wc_body,
        headers={
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Delivery-ID": "wc-e2e-1",
            "X-WC-Webhook-Signature": sig.sign_base64(str(SECRETS["woo"][1]), wc_body),
        },
    )
    assert r.status_code == 200, r.text
    wc_id = r.json()["raw_event_id"]

    processor.drain(channels)
    row = raw_event(channels, stripe_id)
    assert row["status"] == "applied", row["message"]
    assert row["result"] == f"order:{charge['id']}"
    row = raw_event(channels, wc_id)
    assert (row["status"], row["result"]) == ("applied", f"order:{wc[0]['body']['id']}")
    row = raw_event(channels, plan_id)
    assert (row["status"], row["reason_code"]) == ("quarantined", "NORMALIZER_REJECTED")
    assert "plan" in row["message"]
    placed = channels.execute(
        "SELECT channel_id, order_id FROM orders.orders ORDER BY channel_id"
    ).fetchall()
    assert placed == [("str", charge["id"]), ("woo", str(wc[0]["body"]["id"]))]


def test_backfilled_orders_are_applied_like_webhooks(
    tmp_path: Path, db_url: str, channels: psycopg.Connection[Any]
) -> None:
    (tmp_path / "page1.json").write_bytes(fixture_bytes("shopify__pyapi__orders.json"))
    res = bf.run(
        db_url,
        tenant_id=TENANT,
        channel_id="shop",
        platform="shopify",
        resource="orders",
        source=str(tmp_path),
    )
    assert res.statuses == {"pending": 1}
    totals = processor.drain(channels)
    assert (totals.applied, totals.quarantined) == (1, 0)
    assert channels.execute("SELECT count(*) FROM orders.orders").fetchone() == (1,)
