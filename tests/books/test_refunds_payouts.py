"""Refunds (RefundReceipt / CreditMemo) and payouts (Deposit / per-payout summary)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from .helpers import (
    add_transaction,
    documents,
    exceptions,
    fixture,
    load_shopify_order,
    post_all,
    shopify_order,
)


def _doc(db: psycopg.Connection, tenant: str, source_type: str, source_id: str) -> dict[str, Any]:
    return next(
        d
        for d in documents(db, tenant)
        if (d["source_type"], d["source_id"], d["source_role"]) == (source_type, source_id, "main")
    )


def _refund(
    db: psycopg.Connection,
    refund_id: str,
    order_id: str,
    amount: str,
    lines: list[tuple[str, int, str, str]] = (),  # type: ignore[assignment]
    adjustments: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> None:
    with db.transaction():
        db.execute(
            "INSERT INTO orders.refunds (tenant_id, channel_id, refund_id, order_id, amount,"
            " currency,"
            " processed_at) VALUES ('shop', 'shop1', %s, %s, %s, 'USD', '2025-07-05T10:00:00Z')",
            (refund_id, order_id, Decimal(amount)),
        )
        for i, (line_id, qty, subtotal, tax) in enumerate(lines):
            db.execute(
                "INSERT INTO orders.refund_lines (tenant_id, channel_id, refund_id, refund_line_id,"
                " line_id, quantity, subtotal, total_tax) VALUES ('shop', 'shop1', %s, %s, %s,"
                " %s, %s, %s)",
                (refund_id, str(i), line_id, qty, Decimal(subtotal), Decimal(tax)),
            )
        for i, (kind, adj) in enumerate(adjustments):
            db.execute(
                "INSERT INTO orders.order_adjustments (tenant_id, channel_id, refund_id,"
                " adjustment_id,"
                " kind, amount) VALUES ('shop', 'shop1', %s, %s, %s, %s)",
                (refund_id, str(i), kind, Decimal(adj)),
            )


def _paid_ipod_order(db: psycopg.Connection, tenant: str) -> None:
    o = shopify_order(450789469)
    o["financial_status"] = "paid"
    load_shopify_order(
        db, tenant, o, transactions=[{"transaction_id": "t1", "kind": "sale", "amount": "598.94"}]
    )


def test_real_refund_whose_lines_exceed_the_money_refunded_is_an_exception(
    db: psycopg.Connection, tenant: str
) -> None:
    _paid_ipod_order(db, tenant)
    r = fixture("shopify_refund.json")["refund"]  # 2 lines refunded, 209.00 paid back
    amount = sum(Decimal(t["amount"]) for t in r["transactions"])
    # Shopify's refund line subtotal = price - the line's discount allocation (order 450789469).
    subtotal = {"703073504": "195.67", "466157049": "195.66"}
    lines = [
        (str(x["line_item_id"]), x["quantity"], subtotal[str(x["line_item_id"])], "3.98")
        for x in r["refund_line_items"]
    ]
    _refund(db, str(r["id"]), str(r["order_id"]), str(amount), lines)
    doc = _doc(db, tenant, "refund", "shop1:509562969")
    assert (doc["doc_type"], doc["status"]) == ("refund_receipt", "blocked")
    exc = exceptions(db, tenant)["REFUND_TOTALS_MISMATCH"]
    assert Decimal(str(exc["detail"]["difference"])) == Decimal("190.29")  # 399.29 - 209.00


def test_partial_refund_by_line_becomes_refund_receipt_accepted_by_quickbooks(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    _paid_ipod_order(db, tenant)
    _refund(db, "r1", "450789469", "199.65", [("703073504", 1, "195.67", "3.98")])
    _refund(db, "r2", "450789469", "20.00")  # by amount only
    r1 = _doc(db, tenant, "refund", "shop1:r1")
    assert (r1["doc_type"], r1["status"], r1["total_amount"]) == (
        "refund_receipt",
        "ready",
        Decimal("199.65"),
    )
    assert r1["body"]["TxnTaxDetail"] == {"TotalTax": 3.98, "TxnTaxCodeRef": {"value": "2"}}
    assert r1["body"]["Line"][0]["Amount"] == 195.67
    assert "Qty" not in r1["body"]["Line"][0]["SalesItemLineDetail"]  # discounted: amount-only
    note = db.execute(
        "SELECT rounding_note FROM books.document_lines WHERE document_id = %s AND line_no = 1",
        (r1["document_id"],),
    ).fetchone()
    assert note is not None and "195.67" in note[0]
    r2 = _doc(db, tenant, "refund", "shop1:r2")
    assert [x["Amount"] for x in r2["body"]["Line"]] == [20.00]
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert Decimal(str(answers[r1["document_id"]]["TotalAmt"])) == Decimal("199.65")


def test_refund_adjustment_stated_by_the_platform_is_its_own_line(
    db: psycopg.Connection, tenant: str
) -> None:
    _paid_ipod_order(db, tenant)
    _refund(
        db,
        "r3",
        "450789469",
        "204.65",
        [("703073504", 1, "195.67", "3.98")],
        [("shipping_refund", "-0.00"), ("refund_discrepancy", "5.00")],
    )
    doc = _doc(db, tenant, "refund", "shop1:r3")
    assert doc["status"] == "ready" and doc["total_amount"] == Decimal("204.65")
    assert doc["body"]["Line"][-1]["Amount"] == 5.00


def test_refund_of_an_invoice_is_a_credit_memo(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    load_shopify_order(db, tenant, shopify_order(1073459983))  # pending → invoice 199.00
    _refund(db, "r4", "1073459983", "50.00")
    doc = _doc(db, tenant, "refund", "shop1:r4")
    assert (doc["doc_type"], doc["total_amount"]) == ("credit_memo", Decimal("50.00"))
    assert "DepositToAccountRef" not in doc["body"]
    post_all(db, tenant, sandbox, sandbox.admin.create_realm())


def _real_payout(db: psycopg.Connection, amount: str | None = None) -> str:
    p = fixture("shopify_payout.json")["payout"]
    s = p["summary"]
    # Balance transactions as Shopify's payout summary states them (gross, fee per type).
    bts = [
        ("b1", "charge", s["charges_gross_amount"], s["charges_fee_amount"]),
        ("b2", "refund", s["refunds_gross_amount"], "0"),
        ("b3", "fee", str(-Decimal(s["refunds_fee_amount"])), "0"),  # fee given back on refunds
        ("b4", "adjustment", s["adjustments_gross_amount"], s["adjustments_fee_amount"]),
    ]
    with db.transaction():
        db.execute(
            "INSERT INTO orders.payouts (tenant_id, channel_id, payout_id, status, amount,"
            " currency,"
            " payout_date) VALUES ('shop', 'shop1', %s, %s, %s, %s, %s)",
            (str(p["id"]), p["status"], Decimal(amount or p["amount"]), p["currency"], p["date"]),
        )
        for bid, typ, gross, fee in bts:
            db.execute(
                "INSERT INTO orders.balance_transactions (tenant_id, channel_id,"
                " balance_transaction_id,"
                " payout_id, type, amount, fee, net, currency) VALUES"
                " ('shop', 'shop1', %s, %s, %s, %s, %s, %s, 'USD')",
                (
                    bid,
                    str(p["id"]),
                    typ,
                    Decimal(gross),
                    Decimal(fee),
                    Decimal(gross) - Decimal(fee),
                ),
            )
    return str(p["id"])


def test_real_payout_becomes_deposit_netting_to_the_bank_amount(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('shop', 'shop1', 'shopify', 'Apple store', 'USD')"
    )
    pid = _real_payout(db)
    doc = _doc(db, tenant, "payout", f"shop1:{pid}")
    assert (doc["doc_type"], doc["status"], doc["total_amount"]) == (
        "deposit",
        "ready",
        Decimal("41.90"),
    )
    assert [
        (x["Amount"], x["DepositLineDetail"]["AccountRef"]["value"]) for x in doc["body"]["Line"]
    ] == [
        (44.52, "4"),
        (-3.54, "4"),
        (-1.21, "16"),
        (2.13, "7"),
    ]
    assert doc["body"]["DepositToAccountRef"] == {"value": "6"}
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert Decimal(str(answers[doc["document_id"]]["TotalAmt"])) == Decimal("41.90")


def test_payout_that_does_not_net_to_its_amount_is_blocked(
    db: psycopg.Connection, tenant: str
) -> None:
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('shop', 'shop1', 'shopify', 'Apple store', 'USD')"
    )
    pid = _real_payout(db, amount="42.00")
    assert _doc(db, tenant, "payout", f"shop1:{pid}")["status"] == "blocked"
    exc = exceptions(db, tenant)["PAYOUT_MISMATCH"]
    assert Decimal(str(exc["detail"]["difference"])) == Decimal("-0.10")


def test_per_payout_mode_books_one_balanced_summary_per_payout(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    db.execute(
        "UPDATE books.tenant_settings SET posting_mode = 'per_payout' WHERE tenant_id = 'shop'"
    )
    load_shopify_order(db, tenant, shopify_order(1073459972))  # 199.00
    load_shopify_order(db, tenant, shopify_order(1073459981))  # 199.00 - 17.91 discount
    assert documents(db, tenant) == []  # no per-order documents in this mode
    with db.transaction():
        db.execute(
            "INSERT INTO orders.payouts (tenant_id, channel_id, payout_id, status, amount,"
            " currency,"
            " payout_date) VALUES ('shop', 'shop1', 'po1', 'paid', 368.47, 'USD', '2025-07-10')"
        )
        for bid, order_id, gross, fee in (
            ("c1", "1073459972", "199.00", "6.07"),
            ("c2", "1073459981", "181.09", "5.55"),
        ):
            db.execute(
                "INSERT INTO orders.balance_transactions (tenant_id, channel_id,"
                " balance_transaction_id,"
                " payout_id, type, source_order_id, amount, fee, net, currency) VALUES"
                " ('shop', 'shop1', %s, 'po1', 'charge', %s, %s, %s, %s, 'USD')",
                (bid, order_id, Decimal(gross), Decimal(fee), Decimal(gross) - Decimal(fee)),
            )
    doc = _doc(db, tenant, "payout", "shop1:po1")
    assert (doc["doc_type"], doc["status"], doc["total_amount"]) == (
        "journal_entry",
        "ready",
        Decimal("398.00"),
    )
    lines = [
        (
            x["JournalEntryLineDetail"]["PostingType"],
            x["JournalEntryLineDetail"]["AccountRef"]["value"],
            x["Amount"],
        )
        for x in doc["body"]["Line"]
    ]
    assert lines == [
        ("Credit", "1", 398.00),
        ("Debit", "11", 17.91),
        ("Debit", "16", 11.62),
        ("Debit", "6", 368.47),
    ]
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert Decimal(str(answers[doc["document_id"]]["TotalAmt"])) == Decimal("398.00")


def test_per_payout_summary_with_gift_card_tender_balances_and_posts(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    """A gift card used as tender is not revenue and not in the processor's charge: the summary
    debits the gift-card liability for it (and credits it for gift cards sold)."""
    db.execute(
        "UPDATE books.tenant_settings SET posting_mode = 'per_payout' WHERE tenant_id = 'shop'"
    )
    o = shopify_order(1073459972)  # 199.00, plus a 25.00 gift card sold = 224.00
    o["line_items"] = [
        dict(o["line_items"][0]),
        dict(o["line_items"][0], id=o["line_items"][0]["id"] + 1, gift_card=True, price="25.00"),
    ]
    o["total_price"] = o["total_line_items_price"] = "224.00"
    sales = [
        {"transaction_id": "g1", "kind": "sale", "amount": "50.00", "gateway": "gift_card"},
        {"transaction_id": "t2", "kind": "sale", "amount": "174.00", "gateway": "bogus"},
    ]
    load_shopify_order(db, tenant, o, transactions=sales)
    with db.transaction():
        db.execute(
            "INSERT INTO orders.payouts (tenant_id, channel_id, payout_id, status, amount,"
            " currency, payout_date) VALUES ('shop', 'shop1', 'po2', 'paid', 168.65, 'USD',"
            " '2025-07-10')"
        )
        db.execute(
            "INSERT INTO orders.balance_transactions (tenant_id, channel_id,"
            " balance_transaction_id, payout_id, type, source_order_id, amount, fee, net,"
            " currency) VALUES ('shop', 'shop1', 'c1', 'po2', 'charge', '1073459972', 174.00,"
            " 5.35, 168.65, 'USD')"
        )
    doc = _doc(db, tenant, "payout", "shop1:po2")
    assert "PAYOUT_SUMMARY_UNBALANCED" not in exceptions(db, tenant)
    assert (doc["doc_type"], doc["status"], doc["total_amount"]) == (
        "journal_entry",
        "ready",
        Decimal("224.00"),
    )
    lines = [
        (
            x["JournalEntryLineDetail"]["PostingType"],
            x["JournalEntryLineDetail"]["AccountRef"]["value"],
            x["Amount"],
        )
        for x in doc["body"]["Line"]
    ]
    # 3 = the account of the company's "Gift Card" item (no gift-card liability account exists
    # in the sandbox company), the same account per-order documents credit through that item.
    assert lines == [
        ("Credit", "1", 199.00),
        ("Credit", "3", 25.00),
        ("Debit", "3", 50.00),
        ("Debit", "16", 5.35),
        ("Debit", "6", 168.65),
    ]
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    assert Decimal(str(answers[doc["document_id"]]["TotalAmt"])) == Decimal("224.00")


def _refund_docs(db: psycopg.Connection, tenant: str, refund_id: str) -> dict[str, Any]:
    return {
        d["source_role"]: d
        for d in documents(db, tenant)
        if (d["source_type"], d["source_id"]) == ("refund", f"shop1:{refund_id}")
    }


def test_refund_of_a_paid_invoice_books_the_credit_and_the_money_returned(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    """CreditMemo (+ refund): the credit memo credits the buyer; the money sent back is a journal
    entry (buyer's receivable debited, clearing credited) and a zero Payment applies the credit
    memo to it. Partial by line (discounted line, with tax) and by amount."""
    o = shopify_order(450789469)
    o["financial_status"] = "pending"
    load_shopify_order(db, tenant, o)  # invoice 598.94, unpaid
    inv = _doc(db, tenant, "order", "shop1:450789469")
    assert inv["doc_type"] == "invoice"
    with db.transaction():  # captured later: a Payment on the invoice
        add_transaction(
            db, tenant, "450789469", transaction_id="t1", kind="capture", amount="598.94"
        )
    _refund(db, "r1", "450789469", "199.65", [("703073504", 1, "195.67", "3.98")])
    _refund(db, "r2", "450789469", "20.00")  # by amount only
    r1, r2 = _refund_docs(db, tenant, "r1"), _refund_docs(db, tenant, "r2")
    assert set(r1) == set(r2) == {"main", "credit_refund", "credit_applied"}
    for docs, amount in ((r1, Decimal("199.65")), (r2, Decimal("20.00"))):
        cm, je, pay = docs["main"], docs["credit_refund"], docs["credit_applied"]
        assert (cm["doc_type"], cm["status"], cm["total_amount"]) == (
            "credit_memo",
            "ready",
            amount,
        )
        assert (je["doc_type"], je["status"], je["total_amount"]) == (
            "journal_entry",
            "ready",
            amount,
        )
        lines = [
            (
                x["JournalEntryLineDetail"]["PostingType"],
                x["JournalEntryLineDetail"]["AccountRef"]["value"],
                Decimal(str(x["Amount"])),
            )
            for x in je["body"]["Line"]
        ]
        assert lines == [("Debit", "5", amount), ("Credit", "4", amount)]  # A/R, clearing
        assert (
            je["body"]["Line"][0]["JournalEntryLineDetail"]["Entity"]["EntityRef"]
            == (cm["body"]["CustomerRef"])
        )
        assert pay["doc_type"] == "payment" and pay["total_amount"] == 0
        assert [
            (x["LinkedTxn"][0]["TxnType"], x["LinkedTxn"][0]["TxnDocumentId"], x["Amount"])
            for x in pay["body"]["Line"]
        ] == [
            ("CreditMemo", cm["document_id"], float(amount)),
            ("JournalEntry", je["document_id"], float(amount)),
        ]
        assert set(pay["depends_on"]) >= {cm["document_id"], je["document_id"]}
    assert r1["main"]["body"]["TxnTaxDetail"]["TotalTax"] == 3.98
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    for docs in (r1, r2):
        for d in docs.values():
            assert Decimal(str(answers[d["document_id"]]["TotalAmt"])) == d["total_amount"]


def test_refund_of_an_invoice_pays_back_only_what_was_collected(
    db: psycopg.Connection, tenant: str
) -> None:
    load_shopify_order(db, tenant, shopify_order(1073459983))  # pending → invoice 199.00
    _refund(db, "r4", "1073459983", "50.00")
    assert set(_refund_docs(db, tenant, "r4")) == {"main"}  # unpaid: only credited
    with db.transaction():
        add_transaction(
            db, tenant, "1073459983", transaction_id="t9", kind="capture", amount="30.00"
        )
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459983')")
    docs = _refund_docs(db, tenant, "r4")
    assert docs["main"]["total_amount"] == Decimal("50.00")  # the credit is the refund
    assert docs["credit_refund"]["total_amount"] == Decimal("30.00")  # the money is what was paid
