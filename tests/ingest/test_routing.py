"""POST /webhooks/<platform>: one endpoint for many stores, routed by the account a delivery names.

Real payloads (tests/fixtures/realdata/ingest, SOURCES.md there) posted over HTTP to a real
receiver: Shopify by X-Shopify-Shop-Domain, WooCommerce by X-WC-Webhook-Source, Stripe by the
event's "account" (Connect) or the receiver's default account.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import errors

from pgbooks.ingest import processor, ratelimit
from pgbooks.ingest import signatures as sig
from pgbooks.ingest.receiver import ReceiverConfig, running_receiver

from .conftest import MAX_BODY, SECRETS, TENANT, add_channel, count_events, fixture_bytes, raw_event

ORDER = "shopify__slince__Order__view.json"
SHOP_DOMAIN = "acme-store.myshopify.com"
WOO_SITE = "https://shop.acme.example"
STRIPE_ACCOUNT = "acct_1AcmeConnected"
STRIPE_OWNER = "acct_1AcmePlatform"


@pytest.fixture
def routed_channels(channels: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """The acme channels with real-looking external accounts, and another tenant's shop."""
    for channel_id, account in (("shop", SHOP_DOMAIN), ("woo", WOO_SITE), ("str", STRIPE_ACCOUNT)):
        channels.execute(
            "UPDATE orders.channels SET external_account_id = %s"
            " WHERE tenant_id = %s AND channel_id = %s",
            (account, TENANT, channel_id),
        )
    add_channel(channels, "shop", "shopify", "other-secret", tenant_id="globex")
    channels.execute(
        "UPDATE orders.channels SET external_account_id = 'globex.myshopify.com'"
        " WHERE tenant_id = 'globex'"
    )
    add_channel(channels, "owner", "stripe", "whsec_owner", tenant_id="globex")
    channels.execute(
        "UPDATE orders.channels SET external_account_id = %s"
        " WHERE tenant_id = 'globex' AND channel_id = 'owner'",
        (STRIPE_OWNER,),
    )
    return channels


class FakeClock:
    """The token buckets' clock, moved by the test (no sleeping for refills)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def serve(db_url: str, **options: Any) -> Any:
    config = ReceiverConfig(db_url, max_body=MAX_BODY, pool_size=2, **options)
    return running_receiver(config)


@pytest.fixture
def routed(db_url: str, routed_channels: psycopg.Connection[Any]) -> Iterator[httpx.Client]:
    """A receiver with the default limits and a default Stripe account (the platform owner's)."""
    with (
        serve(db_url, stripe_account=STRIPE_OWNER) as base,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        yield client


def shopify(body: bytes, domain: str = SHOP_DOMAIN, secret: str = SECRETS["shop"][1]) -> dict:
    return {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": sig.sign_base64(str(secret), body),
    }


def stripe_event(account: str | None) -> bytes:
    charge = json.loads(fixture_bytes("stripe__derived__stripe_mock__charge.json"))
    event: dict[str, Any] = {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": "charge.succeeded",
        "created": int(time.time()),
        "data": {"object": charge},
    }
    if account is not None:
        event["account"] = account
    return json.dumps(event).encode()


def test_account_key_function_is_the_generated_column(
    routed_channels: psycopg.Connection[Any],
) -> None:
    db = routed_channels
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('keys', 'Keys')")
    samples = [
        ("shopify", "  Keys-Store.MyShopify.com ", "keys-store.myshopify.com"),
        ("woocommerce", "HTTPS://Keys.example/shop//", "keys.example/shop"),
        ("stripe", " acct_1KeyS ", "acct_1KeyS"),
        ("custom", " ", None),
    ]
    for i, (platform, account, _key) in enumerate(samples):
        db.execute(
            "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency,"
            " external_account_id) VALUES ('keys', %s, %s, 'k', 'USD', %s)",
            (f"k{i}", platform, account),
        )
    rows = db.execute(
        "SELECT external_account_key, logic.channel__account_key(platform, external_account_id)"
        " FROM orders.channels WHERE tenant_id = 'keys' ORDER BY channel_id"
    ).fetchall()
    assert [r[0] for r in rows] == [key for _p, _a, key in samples]
    assert [r[1] for r in rows] == [key for _p, _a, key in samples]
    key = db.execute(
        "SELECT logic.channel__account_key('woocommerce', 'http://KEYS.example/shop/')"
    )
    assert key.fetchone() == ("keys.example/shop",)


def test_an_account_claimed_by_two_tenants_is_refused_when_configured(
    routed_channels: psycopg.Connection[Any],
) -> None:
    # The same WooCommerce site spelled differently (scheme, case, trailing slash) is the same
    # account: a second claim would make routed deliveries ambiguous.
    with pytest.raises(errors.UniqueViolation) as exc:
        add_channel(routed_channels, "woo", "woocommerce", "s", tenant_id="globex")
        routed_channels.execute(
            "UPDATE orders.channels SET external_account_id = 'http://SHOP.acme.example/'"
            " WHERE tenant_id = 'globex' AND channel_id = 'woo'"
        )
    assert exc.value.diag.constraint_name == "channels_external_account_unique"


def test_routed_deliveries_of_each_platform_are_stored_for_their_channel_and_applied(
    routed: httpx.Client, routed_channels: psycopg.Connection[Any]
) -> None:
    db = routed_channels
    order = fixture_bytes(ORDER)
    r = routed.post(
        "/webhooks/shopify", content=order, headers=shopify(order, "ACME-store.myshopify.com")
    )
    assert r.status_code == 200, r.text
    shop_id = r.json()["raw_event_id"]

    wc = json.loads(fixture_bytes("woocommerce__derived__wcdocs_v3_orders_examples.json"))
    wc_body = json.dumps(wc[0]["body"]).encode()
    r = routed.post(
        "/webhooks/woocommerce",
        content=wc_body,
        headers={
            "X-WC-Webhook-Source": "https://shop.acme.example/",  # as WordPress sends home_url
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Delivery-ID": "wc-routed-1",
            "X-WC-Webhook-Signature": sig.sign_base64(str(SECRETS["woo"][1]), wc_body),
        },
    )
    assert r.status_code == 200, r.text
    woo_id = r.json()["raw_event_id"]

    connect = stripe_event(STRIPE_ACCOUNT)  # a connected account's event names its account
    stamp = int(time.time())
    r = routed.post(
        "/webhooks/stripe",
        content=connect,
        headers={"Stripe-Signature": sig.sign_stripe(str(SECRETS["str"][1]), connect, stamp)},
    )
    assert r.status_code == 200, r.text
    stripe_id = r.json()["raw_event_id"]

    rows = {i: raw_event(db, i) for i in (shop_id, woo_id, stripe_id)}
    assert [(rows[i]["platform"], rows[i]["channel_id"]) for i in (shop_id, woo_id, stripe_id)] == [
        ("shopify", "shop"),
        ("woocommerce", "woo"),
        ("stripe", "str"),
    ]
    assert all(row["signature_result"] == "valid" for row in rows.values())
    assert bytes(rows[shop_id]["body"]) == order

    totals = processor.drain(db)
    assert (totals.applied, totals.quarantined) == (3, 0)
    placed = db.execute(
        "SELECT channel_id, order_id FROM orders.orders WHERE tenant_id = %s ORDER BY channel_id",
        (TENANT,),
    ).fetchall()
    charge = json.loads(connect)["data"]["object"]
    assert placed == [
        ("shop", "450789469"),
        ("str", charge["id"]),
        ("woo", str(wc[0]["body"]["id"])),
    ]


def test_stripe_event_without_account_goes_to_the_default_account(
    routed: httpx.Client, routed_channels: psycopg.Connection[Any]
) -> None:
    body = stripe_event(None)
    header = sig.sign_stripe("whsec_owner", body, int(time.time()))
    r = routed.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": header})
    assert r.status_code == 200, r.text
    row = routed_channels.execute(
        "SELECT tenant_id, channel_id, signature_result FROM ingest.raw_events"
        " WHERE raw_event_id = %s",
        (r.json()["raw_event_id"],),
    ).fetchone()
    assert row == ("globex", "owner", "valid")


def test_stripe_event_without_account_and_no_default_is_400_and_kept(
    db_url: str, routed_channels: psycopg.Connection[Any]
) -> None:
    body = stripe_event(None)
    header = sig.sign_stripe("whsec_owner", body, int(time.time()))
    with serve(db_url) as base:
        r = httpx.post(
            f"{base}/webhooks/stripe", content=body, headers={"Stripe-Signature": header}
        )
    assert r.status_code == 400
    assert r.json()["reason_code"] == "ACCOUNT_NOT_NAMED"
    row = routed_channels.execute(
        "SELECT tenant_id, status, body FROM ingest.raw_events WHERE raw_event_id = %s",
        (r.json()["raw_event_id"],),
    ).fetchone()
    assert row is not None and row[:2] == ("(unrouted)", "rejected") and bytes(row[2]) == body


def test_unknown_account_is_404_and_the_delivery_kept(
    routed: httpx.Client, routed_channels: psycopg.Connection[Any]
) -> None:
    order = fixture_bytes(ORDER)
    headers = shopify(order, "stranger.myshopify.com", secret="whatever")
    r = routed.post("/webhooks/shopify", content=order, headers=headers)
    assert r.status_code == 404
    answer = r.json()
    assert (answer["error"], answer["reason_code"]) == ("unknown_account", "UNKNOWN_ACCOUNT")
    assert "stranger.myshopify.com" in answer["message"]
    row = routed_channels.execute(
        "SELECT tenant_id, channel_id, status, reason_code, body,"
        " headers ->> 'x-shopify-shop-domain' FROM ingest.raw_events WHERE raw_event_id = %s",
        (answer["raw_event_id"],),
    ).fetchone()
    assert row is not None
    assert row[:4] == ("(unrouted)", "(unrouted)", "rejected", "UNKNOWN_ACCOUNT")
    assert bytes(row[4]) == order and row[5] == "stranger.myshopify.com"
    # Never processed, never visible to a tenant.
    assert processor.drain(routed_channels).claimed == 0
    assert count_events(routed_channels, tenant_id=TENANT) == 0


def test_routed_delivery_with_a_bad_signature_is_401_kept_and_rotation_still_works(
    routed: httpx.Client, routed_channels: psycopg.Connection[Any]
) -> None:
    order = fixture_bytes(ORDER)
    # Signed with the other tenant's secret: routing by account must not let globex's secret
    # (or any secret but acme's) vouch for acme's shop.
    r = routed.post(
        "/webhooks/shopify", content=order, headers=shopify(order, secret="other-secret")
    )
    assert r.status_code == 401
    assert r.json()["reason_code"] == "SIGNATURE_INVALID"
    row = raw_event(routed_channels, r.json()["raw_event_id"])
    assert (row["channel_id"], row["status"], row["signature_result"]) == (
        "shop",
        "rejected",
        "invalid",
    )
    assert bytes(row["body"]) == order
    assert processor.drain(routed_channels).claimed == 0
    # The previous secret is still accepted during a rotation.
    r = routed.post("/webhooks/shopify", content=order, headers=shopify(order, secret="old-hush"))
    assert r.status_code == 200, r.text


def test_tenant_over_its_rate_gets_429_retry_after_is_counted_not_stored_then_recovers(
    db_url: str, routed_channels: psycopg.Connection[Any]
) -> None:
    db = routed_channels
    clock = FakeClock()
    order = fixture_bytes(ORDER)
    limits = {"rate": ratelimit.Rate(0.5, 2), "monotonic": clock, "throttle_flush": 0.05}
    with serve(db_url, **limits) as base, httpx.Client(base_url=base, timeout=10) as client:
        codes = [
            client.post("/webhooks/shopify", content=order, headers=shopify(order)).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        refused = client.post(
            f"/webhooks/shopify/{TENANT}/shop", content=order, headers=shopify(order)
        )
        assert refused.status_code == 429  # the per-channel route shares the tenant's bucket
        assert refused.headers["Retry-After"] == "2"  # 0.5 token/s: the next one in 2 s
        assert refused.json()["error"] == "rate_limited"
        assert count_events(db, tenant_id=TENANT) == 2  # refused bodies are not stored
        # Another tenant has its own bucket.
        other = client.post(
            "/webhooks/shopify",
            content=order,
            headers=shopify(order, "globex.myshopify.com", "other-secret"),
        )
        assert other.status_code == 200, other.text
        clock.now += 2.0
        again = client.post("/webhooks/shopify", content=order, headers=shopify(order))
        assert again.status_code == 200, again.text
        assert (
            client.post("/webhooks/shopify", content=order, headers=shopify(order)).status_code
            == 429
        )
    # Stopping the receiver flushes the counts.
    counted = db.execute(
        "SELECT bucket_kind, bucket_key, sum(refused)::int FROM ingest.receiver_throttles"
        " GROUP BY 1, 2"
    ).fetchall()
    assert counted == [("tenant", TENANT, 3)]
    assert count_events(db, tenant_id=TENANT) == 3


def test_unknown_routes_are_limited_per_source_ip(
    db_url: str, routed_channels: psycopg.Connection[Any]
) -> None:
    db = routed_channels
    order = fixture_bytes(ORDER)
    limits = {"unknown_rate": ratelimit.Rate(1, 2), "monotonic": FakeClock()}
    with serve(db_url, **limits) as base, httpx.Client(base_url=base, timeout=10) as client:
        # Made-up names do not escape the limit: the bucket is the source address's.
        answers = [
            client.post(
                "/webhooks/shopify", content=order, headers=shopify(order, f"x{i}.myshopify.com")
            )
            for i in range(2)
        ]
        answers.append(client.post("/webhooks/shopify/nobody/shop", content=order))
        assert [a.status_code for a in answers] == [404, 404, 429]
        assert answers[2].headers["Retry-After"] == "1"
        # A known tenant is not held back by the flood of unknown requests.
        ok = client.post("/webhooks/shopify", content=order, headers=shopify(order))
        assert ok.status_code == 200, ok.text
    assert count_events(db, tenant_id="(unrouted)") == 2
    assert count_events(db, tenant_id="nobody") == 0
    counted = db.execute(
        "SELECT bucket_kind, bucket_key, refused FROM ingest.receiver_throttles"
    ).fetchall()
    assert counted == [("ip", "127.0.0.1", 1)]
