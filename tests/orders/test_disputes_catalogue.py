"""Disputes (Shopify Payments, Stripe) and the catalogue (products/variants) filled by the
normalizers, from real payloads (tests/fixtures/realdata, attribution in SOURCES.md there)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import psycopg

from tests.orders.conftest import events, normalize, raises_sqlstate, realdata


def _stripe_event(kind: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    return {
        "id": f"evt_{created}",
        "object": "event",
        "type": kind,
        "created": created,
        "data": {"object": obj},
    }


def _dispute(db: psycopg.Connection, dispute_id: str) -> tuple[Any, ...]:
    row = db.execute(
        "SELECT order_id, kind, status, platform_status, amount, currency, reason"
        " FROM orders.disputes"
        " WHERE tenant_id = 't1' AND dispute_id = %s",
        (dispute_id,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_shopify_disputes_stored_with_canonical_status_and_events(odb: psycopg.Connection) -> None:
    for dispute in realdata("shopify", "pyapi__disputes.json")["disputes"]:
        key = normalize(odb, "shopify", "shop", "disputes/create", {"dispute": dispute})
        assert key == f"dispute:{dispute['id']}"
    assert odb.execute("SELECT count(*) FROM orders.disputes").fetchone() == (7,)
    assert _dispute(odb, "670893524") == (
        "625362839",
        "inquiry",
        "needs_response",
        "needs_response",
        Decimal("11.50"),
        "USD",
        "fraudulent",
    )
    # the single-dispute fixture: no order id, already won
    won = realdata("shopify", "pyapi__dispute.json")["dispute"]
    normalize(odb, "shopify", "shop", "disputes/update", {"dispute": won})
    assert _dispute(odb, "1052608616")[0:3] == (None, "chargeback", "won")
    assert events(odb, "1052608616") == ["DisputeWon"]
    assert events(odb, "815713555") == ["DisputeOpened"]


def test_shopify_dispute_status_moves_forward_only(odb: psycopg.Connection) -> None:
    opened = next(
        d for d in realdata("shopify", "pyapi__disputes.json")["disputes"] if d["id"] == 815713555
    )
    review = dict(opened, status="under_review")
    lost = dict(opened, status="lost", finalized_on="2013-07-10T00:00:00-04:00")
    normalize(odb, "shopify", "shop", "disputes/create", {"dispute": opened})
    normalize(odb, "shopify", "shop", "disputes/update", {"dispute": review})
    normalize(
        odb, "shopify", "shop", "disputes/create", {"dispute": opened}
    )  # late redelivery: ignored
    assert _dispute(odb, "815713555")[2] == "under_review"
    normalize(odb, "shopify", "shop", "disputes/update", {"dispute": lost})
    normalize(
        odb, "shopify", "shop", "disputes/update", {"dispute": review}
    )  # never back from final
    assert _dispute(odb, "815713555")[2] == "lost"
    assert events(odb, "815713555") == ["DisputeOpened", "DisputeUnderReview", "DisputeLost"]


def test_stripe_dispute_amount_in_minor_units_and_newer_event_wins(odb: psycopg.Connection) -> None:
    dispute = realdata("stripe", "djstripe__dispute_dp_fakefakefakefake01.json")
    key = normalize(
        odb,
        "stripe",
        "stripe",
        "charge.dispute.created",
        _stripe_event("charge.dispute.created", dispute, 100),
    )
    assert key == "dispute:dp_1JAyTwJSZQVUcJYgPqasUEn1"
    assert _dispute(odb, "dp_1JAyTwJSZQVUcJYgPqasUEn1") == (
        "ch_fakefakefakefakefake0001",
        "chargeback",
        "needs_response",
        "needs_response",
        Decimal("10.00"),
        "USD",
        "fraudulent",
    )
    closed = dict(copy.deepcopy(dispute), status="won")
    normalize(
        odb,
        "stripe",
        "stripe",
        "charge.dispute.closed",
        _stripe_event("charge.dispute.closed", closed, 300),
    )
    older = dict(copy.deepcopy(dispute), status="under_review")
    normalize(
        odb,
        "stripe",
        "stripe",
        "charge.dispute.updated",
        _stripe_event("charge.dispute.updated", older, 200),
    )
    assert _dispute(odb, "dp_1JAyTwJSZQVUcJYgPqasUEn1")[2] == "won"
    finalized = odb.execute("SELECT finalized_at IS NOT NULL FROM orders.disputes").fetchone()
    assert finalized == (True,)


def test_stripe_inquiry_from_warning_status(odb: psycopg.Connection) -> None:
    inquiry = realdata("stripe", "derived__stripe_mock__dispute.json")
    normalize(
        odb,
        "stripe",
        "stripe",
        "charge.dispute.created",
        _stripe_event("charge.dispute.created", inquiry, 1),
    )
    assert _dispute(odb, inquiry["id"])[1:4] == (
        "inquiry",
        "needs_response",
        "warning_needs_response",
    )


def test_unknown_dispute_status_names_the_field(odb: psycopg.Connection) -> None:
    dispute = dict(realdata("shopify", "pyapi__dispute.json")["dispute"], status="pending_magic")
    with raises_sqlstate("PB104", "dispute.status"):
        normalize(odb, "shopify", "shop", "disputes/create", {"dispute": dispute})


def test_shopify_order_fills_products_and_variants_once(odb: psycopg.Connection) -> None:
    order = realdata("shopify", "slince__Order__view.json")["order"]
    normalize(odb, "shopify", "shop", "orders/create", order)
    products = odb.execute(
        "SELECT product_id, title, vendor FROM orders.products ORDER BY 1"
    ).fetchall()
    expected = {
        (str(i["product_id"]), i["title"], i.get("vendor"))
        for i in order["line_items"]
        if i.get("product_id")
    }
    assert set(products) == expected
    variants = odb.execute(
        "SELECT variant_id, product_id, sku FROM orders.variants ORDER BY 1"
    ).fetchall()
    assert {v[0] for v in variants} == {
        str(i["variant_id"]) for i in order["line_items"] if i.get("variant_id")
    }
    assert all(v[2] for v in variants)  # every real line has a SKU
    before = odb.execute("SELECT max(recorded_at) FROM orders.variants").fetchone()
    newer = dict(order, updated_at="2030-01-01T00:00:00Z")
    normalize(odb, "shopify", "shop", "orders/updated", newer)
    assert (
        odb.execute("SELECT max(recorded_at) FROM orders.variants").fetchone() == before
    )  # no churn


def test_woocommerce_order_fills_products_and_variations(odb: psycopg.Connection) -> None:
    examples = realdata("woocommerce", "derived__wcdocs_v3_orders_examples.json")
    order = next(
        e["body"]
        for e in examples
        if isinstance(e.get("body"), dict) and e["body"].get("line_items")
    )
    normalize(odb, "woocommerce", "woo", "order.created", order)
    products = {r[0] for r in odb.execute("SELECT product_id FROM orders.products").fetchall()}
    assert products == {str(i["product_id"]) for i in order["line_items"] if i.get("product_id")}
    variants = {r[0] for r in odb.execute("SELECT variant_id FROM orders.variants").fetchall()}
    assert variants == {
        str(i["variation_id"]) for i in order["line_items"] if i.get("variation_id")
    }
