"""Golden tests: real Shopify orders become the expected documents, accepted by the sandbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from .helpers import (
    add_transaction,
    documents,
    exceptions,
    load_shopify_order,
    post_all,
    resolve_placeholders,
    shopify_order,
)


def _main(db: psycopg.Connection, tenant: str, order_id: str) -> dict[str, Any]:
    return next(
        d
        for d in documents(db, tenant)
        if d["source_id"] == f"shop1:{order_id}" and d["source_role"] == "main"
    )


def test_paid_order_becomes_sales_receipt_totalling_the_order(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    o = shopify_order(450789469)  # 3 × 199.00, 10.00 discount allocated per line, 11.94 tax
    o["financial_status"] = "paid"
    load_shopify_order(
        db, tenant, o, transactions=[{"transaction_id": "t1", "kind": "sale", "amount": "598.94"}]
    )
    doc = _main(db, tenant, "450789469")
    assert (doc["doc_type"], doc["status"], doc["total_amount"]) == (
        "sales_receipt",
        "ready",
        Decimal("598.94"),
    )
    body = doc["body"]
    items = [x for x in body["Line"] if x["DetailType"] == "SalesItemLineDetail"]
    assert [
        (x["Amount"], x["SalesItemLineDetail"]["Qty"], x["SalesItemLineDetail"]["TaxCodeRef"])
        for x in items
    ] == [(199.00, 1, {"value": "TAX"})] * 3
    assert [x["Amount"] for x in body["Line"] if x["DetailType"] == "DiscountLineDetail"] == [10.00]
    assert body["TxnTaxDetail"] == {"TotalTax": 11.94, "TxnTaxCodeRef": {"value": "2"}}
    assert body["DepositToAccountRef"] == {"value": "4"}
    assert body["CustomerRef"] == {"document_id": doc["depends_on"][0]}
    cust = next(d for d in documents(db, tenant) if d["document_id"] == doc["depends_on"][0])
    assert (
        cust["doc_type"] == "customer" and cust["body"]["DisplayName"] == "Bob Norman (207119551)"
    )
    realm = sandbox.admin.create_realm()
    answers = post_all(db, tenant, sandbox, realm)
    assert Decimal(str(answers[doc["document_id"]]["TotalAmt"])) == Decimal("598.94")


def test_rederiving_an_unchanged_order_keeps_the_version_and_a_change_bumps_it(
    db: psycopg.Connection, tenant: str
) -> None:
    o = shopify_order(1073459972)
    load_shopify_order(
        db, tenant, o, transactions=[{"transaction_id": "t1", "kind": "sale", "amount": "199.00"}]
    )
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459972')")
    assert _main(db, tenant, "1073459972")["version"] == 1
    db.execute(
        "UPDATE orders.order_lines SET title = 'IPod Nano 2009' WHERE order_id = '1073459972'"
    )
    assert _main(db, tenant, "1073459972")["version"] == 2


def test_pending_order_becomes_invoice_and_capture_a_linked_payment(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    o = shopify_order(1073459983)  # pending, 199.00
    load_shopify_order(db, tenant, o)
    inv = _main(db, tenant, "1073459983")
    assert (inv["doc_type"], inv["total_amount"]) == ("invoice", Decimal("199.00"))
    assert "DepositToAccountRef" not in inv["body"]
    add_transaction(
        db, tenant, "1073459983", transaction_id="cap1", kind="capture", amount="199.00"
    )
    pay = next(d for d in documents(db, tenant) if d["source_role"] == "payment:cap1")
    assert pay["doc_type"] == "payment" and inv["document_id"] in pay["depends_on"]
    assert pay["body"]["Line"] == [
        {
            "Amount": 199.00,
            "LinkedTxn": [{"TxnDocumentId": inv["document_id"], "TxnType": "Invoice"}],
        }
    ]
    assert _main(db, tenant, "1073459983")["doc_type"] == "invoice"  # stays an invoice once paid
    realm = sandbox.admin.create_realm()
    answers = post_all(db, tenant, sandbox, realm)
    assert Decimal(str(answers[pay["document_id"]]["UnappliedAmt"])) == 0


def test_order_level_discount_and_two_tax_rates(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    for oid, total in ((1073459981, "181.09"), (1073459963, "270.37")):
        load_shopify_order(
            db,
            tenant,
            shopify_order(oid),
            transactions=[{"transaction_id": f"t{oid}", "kind": "sale", "amount": total}],
        )
        doc = _main(db, tenant, str(oid))
        assert (doc["status"], doc["total_amount"]) == ("ready", Decimal(total))
    lines = db.execute(
        "SELECT kind, amount FROM books.document_lines l JOIN books.documents d USING (tenant_id,"
        " document_id)"
        " WHERE d.source_id = 'shop1:1073459963' ORDER BY line_no"
    ).fetchall()
    assert lines == [
        ("item", Decimal("129.99")),
        ("item", Decimal("85.95")),
        ("item", Decimal("39.98")),
        ("tax", Decimal("14.45")),
    ]
    post_all(db, tenant, sandbox, sandbox.admin.create_realm())


def test_inconsistent_order_is_blocked_with_totals_mismatch_not_plugged(
    db: psycopg.Connection, tenant: str
) -> None:
    o = shopify_order(1073459972)
    o["total_price"] = "199.05"  # platform total 5 cents off its own lines
    load_shopify_order(
        db, tenant, o, transactions=[{"transaction_id": "t1", "kind": "sale", "amount": "199.05"}]
    )
    doc = _main(db, tenant, "1073459972")
    assert doc["status"] == "blocked"
    assert [x["Amount"] for x in doc["body"]["Line"]] == [199.00]  # no plug line
    exc = exceptions(db, tenant)["TOTALS_MISMATCH"]
    assert exc["category"] == "source_data"
    assert Decimal(str(exc["detail"]["difference"])) == Decimal("-0.05")
    assert exc["diff"] == {"TotalAmt": {"ours": 199.00, "source": 199.05}}


def test_strict_item_policy_raises_item_unmapped_then_mapping_unblocks(
    db: psycopg.Connection, tenant: str
) -> None:
    db.execute("UPDATE books.tenant_settings SET item_strict = TRUE WHERE tenant_id = 'shop'")
    o = shopify_order(1073459972)  # SKU IPOD2009BLACK
    load_shopify_order(
        db, tenant, o, transactions=[{"transaction_id": "t1", "kind": "sale", "amount": "199.00"}]
    )
    assert _main(db, tenant, "1073459972")["status"] == "blocked"
    exc = exceptions(db, tenant)["ITEM_UNMAPPED"]
    assert exc["category"] == "mapping" and exc["detail"]["sku"] == "IPOD2009BLACK"
    db.execute(
        "INSERT INTO books.item_map (tenant_id, sku, item_id) VALUES ('shop', 'IPOD2009BLACK', '3')"
    )
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459972')")
    doc = _main(db, tenant, "1073459972")
    assert doc["status"] == "ready" and doc["version"] == 2
    assert doc["body"]["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"value": "3"}
    assert exceptions(db, tenant) == {}


def test_cancelled_unrefunded_order_voids_its_document(db: psycopg.Connection, tenant: str) -> None:
    load_shopify_order(db, tenant, shopify_order(1073459983))
    db.execute("UPDATE orders.orders SET cancelled_at = now() WHERE order_id = '1073459983'")
    doc = _main(db, tenant, "1073459983")
    assert (doc["action"], doc["version"]) == ("void", 2)


def test_order_flagged_by_the_orders_checks_is_blocked(db: psycopg.Connection, tenant: str) -> None:
    o = shopify_order(450789469)
    o["_stated_subtotal"] = o["subtotal_price"]  # 597.00 recorded, but lines - discounts = 587.00
    load_shopify_order(
        db, tenant, o, transactions=[{"transaction_id": "t1", "kind": "sale", "amount": "598.94"}]
    )
    assert _main(db, tenant, "450789469")["status"] == "blocked"
    exc = exceptions(db, tenant)["TOTALS_MISMATCH"]
    assert exc["category"] == "source_data" and "subtotal" in str(exc["detail"])


def test_platform_rounding_that_differs_from_quickbooks_is_sent_amount_only_and_explained(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    o = shopify_order(1073459972)
    o["line_items"] = [dict(o["line_items"][0], quantity=3, price="3.335")]
    o["total_price"] = "10.00"
    load_shopify_order(
        db, tenant, o, transactions=[{"transaction_id": "t1", "kind": "sale", "amount": "10.00"}]
    )
    # QuickBooks computes round_half_up(3 × 3.335) = 10.01; the platform stated 10.00.
    db.execute("UPDATE orders.order_lines SET gross_amount = 10.00 WHERE order_id = '1073459972'")
    doc = _main(db, tenant, "1073459972")
    assert (doc["status"], doc["total_amount"]) == ("ready", Decimal("10.00"))
    line = doc["body"]["Line"][0]
    assert line["Amount"] == 10.00 and "Qty" not in line["SalesItemLineDetail"]
    note = db.execute(
        "SELECT rounding_note FROM books.document_lines WHERE document_id = %s",
        (doc["document_id"],),
    ).fetchone()
    assert note is not None and "10.01" in note[0]
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert Decimal(str(answers[doc["document_id"]]["TotalAmt"])) == Decimal("10.00")


def test_delivery_renderer_resolves_our_placeholders_like_the_golden_posts(
    db: psycopg.Connection, tenant: str
) -> None:
    """Contract with sync: logic.document__render_qbo turns our bodies into what we post."""
    load_shopify_order(db, tenant, shopify_order(1073459983))
    add_transaction(
        db, tenant, "1073459983", transaction_id="cap1", kind="capture", amount="199.00"
    )
    docs = documents(db, tenant)
    ids = {d["document_id"]: str(100 + d["document_id"]) for d in docs}
    for d in docs:
        if d["doc_type"] != "payment":
            db.execute(
                "INSERT INTO sync.remote_objects (tenant_id, document_id, realm_id, entity,"
                " remote_id, sync_token, synced_version, snapshot)"
                " VALUES (%s, %s, 'r1', %s, %s, '0', 1, '{}')",
                (tenant, d["document_id"], d["doc_type"], ids[d["document_id"]]),
            )
    pay = next(d for d in docs if d["doc_type"] == "payment")
    rendered = db.execute(
        "SELECT logic.document__render_qbo(%s, %s)", (tenant, pay["document_id"])
    ).fetchone()
    assert rendered is not None
    expected = resolve_placeholders(pay["body"], ids)
    for key in ("CustomerRef", "Line", "TotalAmt", "DepositToAccountRef"):
        assert rendered[0][key] == expected[key], key
