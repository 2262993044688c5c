"""Golden test: a real WooCommerce order (shipping, per-line tax) becomes a SalesReceipt."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from .helpers import add_transaction, documents, fixture, post_all


def load_woocommerce_order(db: psycopg.Connection, tenant: str, o: dict[str, Any]) -> str:
    oid = str(o["id"])
    with db.transaction():
        db.execute(
            "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
            " VALUES (%s, 'shop1', 'woocommerce', 'Woo store', %s)",
            (tenant, o["currency"]),
        )
        db.execute(
            "INSERT INTO orders.orders (tenant_id, channel_id, order_id, order_number, currency,"
            " taxes_included, financial_status, placed_at, stated_total_discounts,"
            " stated_total_shipping, stated_total_tax, stated_total)"
            " VALUES (%s, 'shop1', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                tenant,
                oid,
                o["number"],
                o["currency"],
                o["prices_include_tax"],
                "paid" if o.get("date_paid") else "pending",
                o["date_created_gmt"] + "Z",
                Decimal(o["discount_total"]),
                Decimal(o["shipping_total"]),
                Decimal(o["total_tax"]),
                Decimal(o["total"]),
            ),
        )
        rate_code = {t["rate_id"]: (t["rate_code"], t.get("rate_percent")) for t in o["tax_lines"]}
        for li in o["line_items"]:
            lid = str(li["id"])
            db.execute(
                "INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, sku,"
                " title,"
                " quantity, unit_price, gross_amount) VALUES (%s, 'shop1', %s, %s, %s, %s, %s,"
                " %s, %s)",
                (
                    tenant,
                    oid,
                    lid,
                    li["sku"] or None,
                    li["name"],
                    li["quantity"],
                    Decimal(str(li["price"])),
                    Decimal(li["subtotal"]),
                ),
            )
            for t in li["taxes"]:
                code, pct = rate_code.get(t["id"], (str(t["id"]), None))
                db.execute(
                    "INSERT INTO orders.tax_lines (tenant_id, channel_id, order_id, tax_line_id,"
                    " line_id,"
                    " title, rate, amount) VALUES (%s, 'shop1', %s, %s, %s, %s, %s, %s)",
                    (tenant, oid, f"{lid}-{t['id']}", lid, code, pct, Decimal(t["total"])),
                )
        for s in o["shipping_lines"]:
            db.execute(
                "INSERT INTO orders.shipping_lines (tenant_id, channel_id, order_id,"
                " shipping_line_id,"
                " title, price) VALUES (%s, 'shop1', %s, %s, %s, %s)",
                (tenant, oid, str(s["id"]), s["method_title"], Decimal(s["total"])),
            )
        add_transaction(
            db,
            tenant,
            oid,
            transaction_id=f"wc-{oid}",
            kind="sale",
            amount=o["total"],
            gateway=o["payment_method"],
            processed_at=o["date_paid_gmt"] + "Z",
        )
    return oid


def test_real_woocommerce_order_with_shipping_and_tax_posts_to_the_cent(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    o = fixture("woocommerce_order.json")["order"]  # 2 × 3.00 + 12.00, shipping 10.00, tax 1.35
    load_woocommerce_order(db, tenant, o)
    doc = next(d for d in documents(db, tenant) if d["source_id"] == "shop1:727")
    assert (doc["doc_type"], doc["status"], doc["total_amount"]) == (
        "sales_receipt",
        "ready",
        Decimal("29.35"),
    )
    lines = [
        (x["SalesItemLineDetail"]["ItemRef"]["value"], x["Amount"]) for x in doc["body"]["Line"]
    ]
    assert lines == [("3", 6.00), ("3", 12.00), ("SHIPPING_ITEM_ID", 10.00)]
    assert doc["body"]["TxnTaxDetail"]["TotalTax"] == 1.35
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert Decimal(str(answers[doc["document_id"]]["TotalAmt"])) == Decimal("29.35")


def test_refund_with_shipping_and_restock_refunds_money_only(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    """One unit of line 315 (3.00 + 0.225 tax → 0.23 as WooCommerce rounds it) restocked, plus the
    10.00 shipping: a RefundReceipt with the line, the shipping item and the tax; restocking
    moves goods, not money, and changes nothing in the document."""
    o = fixture("woocommerce_order.json")["order"]
    load_woocommerce_order(db, tenant, o)
    with db.transaction():
        db.execute(
            "INSERT INTO orders.refunds (tenant_id, channel_id, refund_id, order_id, amount,"
            " currency, restock, processed_at) VALUES (%s, 'shop1', 'wr1', %s, 13.23, 'USD',"
            " TRUE, '2025-07-05T10:00:00Z')",
            (tenant, str(o["id"])),
        )
        db.execute(
            "INSERT INTO orders.refund_lines (tenant_id, channel_id, refund_id, refund_line_id,"
            " line_id, quantity, subtotal, total_tax) VALUES (%s, 'shop1', 'wr1', '1', '315',"
            " 1, 3.00, 0.23)",
            (tenant,),
        )
        db.execute(
            "INSERT INTO orders.order_adjustments (tenant_id, channel_id, refund_id,"
            " adjustment_id, kind, amount) VALUES (%s, 'shop1', 'wr1', 's', 'shipping_refund',"
            " -10.00)",
            (tenant,),
        )
    rr = next(d for d in documents(db, tenant) if d["source_id"] == "shop1:wr1")
    assert (rr["doc_type"], rr["status"], rr["total_amount"]) == (
        "refund_receipt",
        "ready",
        Decimal("13.23"),
    )
    lines = [
        (
            x["SalesItemLineDetail"]["ItemRef"]["value"],
            x["Amount"],
            x["SalesItemLineDetail"].get("Qty"),
        )
        for x in rr["body"]["Line"]
    ]
    assert lines == [("3", 3.00, 1), ("SHIPPING_ITEM_ID", 10.00, None)]
    assert rr["body"]["TxnTaxDetail"]["TotalTax"] == 0.23
    db.execute("UPDATE orders.refunds SET restock = FALSE WHERE refund_id = 'wr1'")
    again = next(d for d in documents(db, tenant) if d["source_id"] == "shop1:wr1")
    assert (again["version"], again["body"]) == (rr["version"], rr["body"])  # restock: no money
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert Decimal(str(answers[rr["document_id"]]["TotalAmt"])) == Decimal("13.23")
