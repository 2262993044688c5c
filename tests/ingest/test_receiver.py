"""The receiver over real HTTP: every outcome answered as documented, every delivery stored."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg

from pgbooks.ingest import signatures as sig

from .conftest import MAX_BODY, SECRETS, TENANT, count_events, fixture_bytes, raw_event

SHOP = f"/webhooks/shopify/{TENANT}/shop"
WOO = f"/webhooks/woocommerce/{TENANT}/woo"
STRIPE = f"/webhooks/stripe/{TENANT}/str"
ORDER = "shopify__slince__Order__view.json"
STRIPE_EVENT = "stripe__derived__stripe_mock__event.json"
SHOP_SECRET = SECRETS["shop"][1]
STRIPE_SECRET = SECRETS["str"][1]


def shopify_headers(body: bytes, secret: str = SHOP_SECRET, webhook_id: str | None = None) -> dict:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/updated",
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": sig.sign_base64(secret, body),
    }


def stripe_headers(body: bytes, at: int | None = None, secret: str = STRIPE_SECRET) -> dict:
    ts = int(time.time()) if at is None else at
    return {
        "Content-Type": "application/json",
        "Stripe-Signature": sig.sign_stripe(secret, body, ts),
    }


def test_valid_shopify_delivery_is_stored_verbatim_then_acknowledged(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes(ORDER)
    r = receiver.post(SHOP, content=body, headers=shopify_headers(body, webhook_id="wh-1"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending"
    row = raw_event(channels, r.json()["raw_event_id"])
    assert bytes(row["body"]) == body  # the exact bytes, not re-serialised JSON
    assert row["body_bytes"] == len(body) and not row["body_truncated"]
    assert row["signature_result"] == "valid"
    assert row["topic"] == "orders/updated"
    assert row["delivery_id"] == "wh-1" and row["dedupe_key"] == "wh-1"
    assert row["headers"]["x-shopify-shop-domain"] == "acme.myshopify.com"
    assert (row["platform"], row["channel_id"], row["source"]) == ("shopify", "shop", "webhook")


def test_previous_secret_still_validates_during_rotation(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes(ORDER)
    r = receiver.post(SHOP, content=body, headers=shopify_headers(body, secret="old-hush"))
    assert r.status_code == 200, r.text
    assert raw_event(channels, r.json()["raw_event_id"])["signature_result"] == "valid"


def test_forged_signature_is_401_and_the_attempt_is_kept_not_applied(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes(ORDER)
    r = receiver.post(SHOP, content=body, headers=shopify_headers(body, secret="forged"))
    assert r.status_code == 401
    assert r.json()["reason_code"] == "SIGNATURE_INVALID"
    row = raw_event(channels, r.json()["raw_event_id"])
    assert (row["status"], row["signature_result"]) == ("rejected", "invalid")
    assert bytes(row["body"]) == body
    # Rejected deliveries are never claimed by the processor.
    claimed = channels.execute("SELECT claimed FROM api.raw_events__process(10)").fetchone()
    assert claimed == (0,)
    assert raw_event(channels, row["raw_event_id"])["status"] == "rejected"


def test_missing_signature_is_401(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes(ORDER)
    headers = shopify_headers(body)
    del headers["X-Shopify-Hmac-Sha256"]
    r = receiver.post(SHOP, content=body, headers=headers)
    assert r.status_code == 401
    assert r.json()["reason_code"] == "SIGNATURE_MISSING"
    assert raw_event(channels, r.json()["raw_event_id"])["signature_result"] == "missing"


def test_valid_stripe_event_uses_event_id_and_type(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes(STRIPE_EVENT)
    r = receiver.post(STRIPE, content=body, headers=stripe_headers(body))
    assert r.status_code == 200, r.text
    row = raw_event(channels, r.json()["raw_event_id"])
    assert row["delivery_id"] == "evt_1Pgc76B7WZ01zgkWwyRHS12y"
    assert row["topic"] == "plan.created"
    assert row["signature_result"] == "valid"


def test_replayed_stripe_timestamp_is_401_stale_and_kept(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes("stripe__payrails__charge.succeeded.json")
    # The genuine signature from the published vector (t=1700000000): long past the 300 s window.
    header = "t=1700000000,v1=bb5a1a58a6b0dbe7659fa3f6209fdbb3677e8ae73f5784fbd6833008dd935207"
    r = receiver.post(STRIPE, content=body, headers={"Stripe-Signature": header})
    assert r.status_code == 401
    assert r.json()["reason_code"] == "SIGNATURE_STALE_TIMESTAMP"
    row = raw_event(channels, r.json()["raw_event_id"])
    assert (row["status"], row["signature_result"]) == ("rejected", "stale_timestamp")
    assert bytes(row["body"]) == body
    # 301 s old with a correct signature: still a replay.
    r = receiver.post(STRIPE, content=body, headers=stripe_headers(body, int(time.time()) - 301))
    assert r.json()["reason_code"] == "SIGNATURE_STALE_TIMESTAMP"
    # Within the window it is accepted.
    r = receiver.post(STRIPE, content=body, headers=stripe_headers(body, int(time.time()) - 250))
    assert r.status_code == 200


def test_malformed_json_with_valid_signature_is_400_and_kept(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes(ORDER)[:-40]  # cut mid-document
    r = receiver.post(SHOP, content=body, headers=shopify_headers(body))
    assert r.status_code == 400
    assert r.json()["reason_code"] == "MALFORMED_JSON"
    assert r.json()["error"] == "malformed_json"
    row = raw_event(channels, r.json()["raw_event_id"])
    assert row["status"] == "rejected" and bytes(row["body"]) == body
    assert "not valid UTF-8 JSON" in row["message"]
    for junk in (b"[1, 2]", b"\xff\xfe{}", b'{"a": "\\u0000"}'):
        r = receiver.post(SHOP, content=junk, headers=shopify_headers(junk))
        assert r.status_code == 400, junk
        assert bytes(raw_event(channels, r.json()["raw_event_id"])["body"]) == junk


def test_duplicate_delivery_is_stored_but_not_applied_twice(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes(ORDER)
    first = receiver.post(SHOP, content=body, headers=shopify_headers(body, webhook_id="wh-dup"))
    again = receiver.post(SHOP, content=body, headers=shopify_headers(body, webhook_id="wh-dup"))
    assert first.status_code == again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["duplicate_of"] == first.json()["raw_event_id"]
    dup = raw_event(channels, again.json()["raw_event_id"])
    assert dup["reason_code"] == "DUPLICATE_DELIVERY" and bytes(dup["body"]) == body
    # Stripe: the event id is the delivery key.
    ev = fixture_bytes(STRIPE_EVENT)
    assert (
        receiver.post(STRIPE, content=ev, headers=stripe_headers(ev)).json()["status"] == "pending"
    )
    assert (
        receiver.post(STRIPE, content=ev, headers=stripe_headers(ev)).json()["status"]
        == "duplicate"
    )
    # Only the first copies are processed: once each.
    claimed = channels.execute("SELECT claimed FROM api.raw_events__process(50)").fetchone()
    assert claimed == (2,)
    assert raw_event(channels, first.json()["raw_event_id"])["attempts"] == 1
    assert raw_event(channels, dup["raw_event_id"])["attempts"] == 0
    assert count_events(channels, status="duplicate") == 2


def test_a_rejected_delivery_does_not_block_the_genuine_one(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes(ORDER)
    forged = receiver.post(SHOP, content=body, headers=shopify_headers(body, "x", webhook_id="w9"))
    genuine = receiver.post(SHOP, content=body, headers=shopify_headers(body, webhook_id="w9"))
    assert (forged.status_code, genuine.status_code) == (401, 200)
    assert genuine.json()["status"] == "pending"


def test_oversize_body_is_413_and_the_attempt_is_kept(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    big = b'{"pad": "' + b"x" * (MAX_BODY + 10) + b'"}'
    r = receiver.post(SHOP, content=big, headers=shopify_headers(big))
    assert r.status_code == 413
    assert r.json()["reason_code"] == "BODY_TOO_LARGE"
    row = raw_event(channels, r.json()["raw_event_id"])
    assert row["body_truncated"] and row["body_bytes"] == len(big)
    assert row["status"] == "rejected" and row["signature_result"] == "unchecked"

    # Without Content-Length (chunked): the receiver stops reading at the limit.
    def chunks() -> Iterator[bytes]:
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    r = receiver.post(SHOP, content=chunks(), headers=shopify_headers(big))
    assert r.status_code == 413
    row = raw_event(channels, r.json()["raw_event_id"])
    assert row["body_truncated"] and bytes(row["body"]) == big[:MAX_BODY]


def test_unknown_channel_and_platform_mismatch_are_404_and_kept(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes(ORDER)
    r = receiver.post(
        f"/webhooks/shopify/{TENANT}/nope", content=body, headers=shopify_headers(body)
    )
    assert (r.status_code, r.json()["reason_code"]) == (404, "UNKNOWN_CHANNEL")
    r = receiver.post(f"/webhooks/woocommerce/{TENANT}/shop", content=body, headers={})
    assert (r.status_code, r.json()["reason_code"]) == (404, "PLATFORM_MISMATCH")
    r = receiver.post("/webhooks/shopify/ghost-tenant/shop", content=body, headers={})
    assert r.status_code == 404
    row = channels.execute(
        "SELECT status, reason_code, body FROM ingest.raw_events WHERE tenant_id = 'ghost-tenant'"
    ).fetchone()
    assert row is not None and row[:2] == ("rejected", "UNKNOWN_CHANNEL") and bytes(row[2]) == body


def test_woocommerce_delivery_uses_delivery_id_header(
    receiver: httpx.Client, channels: psycopg.Connection[Any]
) -> None:
    body = fixture_bytes("woocommerce__derived__wcdocs_v3_orders_examples.json")
    doc = json.loads(body)
    one = json.dumps(doc[0]["body"]).encode()
    headers = {
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Delivery-ID": "d-77",
        "X-WC-Webhook-Signature": sig.sign_base64("wc_secret", one),
    }
    r = receiver.post(WOO, content=one, headers=headers)
    assert r.status_code == 200, r.text
    row = raw_event(channels, r.json()["raw_event_id"])
    assert (row["topic"], row["delivery_id"], row["signature_result"]) == (
        "order.created",
        "d-77",
        "valid",
    )
    headers["X-WC-Webhook-Signature"] = sig.sign_base64("wrong", one)
    assert receiver.post(WOO, content=one, headers=headers).status_code == 401


def test_routes_other_than_webhooks_answer_json_errors(receiver: httpx.Client) -> None:
    # No tenant has two-way sync enabled: stored, refused (tests/inbound covers the rest).
    r = receiver.post("/webhooks/quickbooks", content=b"{}")
    assert r.status_code == 404 and r.json()["error"] == "unknown_channel"
    r = receiver.get(SHOP)
    assert r.status_code == 405 and "error" in r.json()
    r = receiver.post("/nowhere", content=b"{}")
    assert r.status_code == 404 and "error" in r.json()
    r = receiver.post(f"/webhooks/etsy/{TENANT}/shop", content=b"{}")
    assert r.status_code == 404 and r.json()["error"] == "unknown_platform"
    assert receiver.get("/healthz").json() == {"ok": True}
