"""Posting documents to the sandbox: dependencies, placeholders, updates, read-back."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from tests.sync.conftest import Books, sale_line


def test_customer_then_sales_receipt_posted_once_with_resolved_reference(books: Books) -> None:
    cust = books.customer("Ann Lee")
    sr = books.sales_receipt(cust, "123.45", doc_number="SR-1")
    books.drain()
    assert books.count("Customer", DisplayName="Ann Lee") == 1
    receipts = books.entities("SalesReceipt", DocNumber="SR-1")
    assert len(receipts) == 1
    assert Decimal(str(receipts[0]["TotalAmt"])) == Decimal("123.45")
    assert receipts[0]["CustomerRef"]["value"] == books.remote_id(cust)
    assert books.remote_id(sr) == receipts[0]["Id"]
    assert books.outbox(sr)["state"] == "done"
    assert books.exceptions() == []


def test_invoice_and_payment_linked_by_placeholder(books: Books) -> None:
    cust = books.customer("Bo Chen")
    inv = books.doc(
        "invoice",
        {"CustomerRef": {"document_id": cust}, "Line": [sale_line("80.00")], "DocNumber": "INV-7"},
        total="80.00",
        depends_on=[cust],
    )
    pay = books.doc(
        "payment",
        {
            "CustomerRef": {"document_id": cust},
            "TotalAmt": Decimal("80.00"),
            "Line": [
                {
                    "Amount": Decimal("80.00"),
                    "LinkedTxn": [{"TxnDocumentId": inv, "TxnType": "Invoice"}],
                }
            ],
        },
        total="80.00",
        depends_on=[cust, inv],
    )
    books.drain()
    invoices = books.entities("Invoice", DocNumber="INV-7")
    assert len(invoices) == 1
    assert Decimal(str(invoices[0]["Balance"])) == 0
    payments = books.entities("Payment")
    assert len(payments) == 1
    assert payments[0]["Line"][0]["LinkedTxn"][0]["TxnId"] == books.remote_id(inv)
    assert books.remote_id(pay) == payments[0]["Id"]


def test_placeholder_without_remote_id_is_an_error_never_a_guess(books: Books) -> None:
    cust = books.customer("Cy")
    # depends_on deliberately omitted: the renderer must refuse, not invent an id.
    doc = books.doc(
        "sales_receipt", {"CustomerRef": {"document_id": cust}, "Line": [sale_line("5.00")]}
    )
    with pytest.raises(psycopg.Error) as err:
        books.db.execute("SELECT logic.document__render_qbo(%s, %s)", (books.tenant_id, doc))
    assert err.value.sqlstate == "PB601"
    assert f"document {cust}" in str(err.value)


def test_new_version_becomes_sparse_update_with_sync_token(books: Books) -> None:
    cust = books.customer("Dee")
    sr = books.sales_receipt(cust, "10.00", doc_number="SR-U")
    books.drain()
    books.bump(sr, {"Line": [sale_line("12.50")]}, total="12.50")
    books.drain()
    receipts = books.entities("SalesReceipt", DocNumber="SR-U")
    assert len(receipts) == 1
    assert Decimal(str(receipts[0]["TotalAmt"])) == Decimal("12.50")
    assert receipts[0]["SyncToken"] == "1"
    row = books.db.execute(
        "SELECT sync_token, synced_version FROM sync.remote_objects WHERE document_id = %s", (sr,)
    ).fetchone()
    assert row == ("1", 2)


def test_totals_that_do_not_add_up_are_not_sent(books: Books) -> None:
    cust = books.customer("Eve")
    sr = books.doc(
        "sales_receipt",
        {"CustomerRef": {"document_id": cust}, "Line": [sale_line("10.00")]},
        total="10.01",
        depends_on=[cust],
    )
    books.drain()
    assert books.count("SalesReceipt") == 0
    assert [(e[0], e[1], e[2]) for e in books.exceptions()] == [
        ("TOTALS_MISMATCH", "source_data", sr)
    ]


def test_readback_difference_becomes_exception_with_diff(books: Books) -> None:
    cust = books.customer("Fay")
    # The California tax code makes QuickBooks add tax we did not send: stored total differs.
    sr = books.doc(
        "sales_receipt",
        {
            "CustomerRef": {"document_id": cust},
            "Line": [sale_line("100.00", item="3")],
            "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "2"}},
        },
        total="100.00",
        depends_on=[cust],
    )
    books.drain()
    assert books.count("SalesReceipt") == 1  # posted once, then flagged
    exc = [e for e in books.exceptions() if e[0] == "READBACK_DIFF"]
    assert len(exc) == 1 and exc[0][2] == sr
    assert any(d["path"] == "TotalAmt" for d in exc[0][4])


def test_quickbooks_validation_fault_becomes_mapping_exception_with_remedy(books: Books) -> None:
    cust = books.customer("Gus")
    sr = books.doc(
        "sales_receipt",
        {"CustomerRef": {"document_id": cust}, "Line": [sale_line("9.00", item="999")]},
        total="9.00",
        depends_on=[cust],
    )
    books.drain()
    rows = books.db.execute(
        "SELECT reason_code, category, detail->>'remedy', qbo_fault IS NOT NULL "
        "FROM sync.exceptions WHERE document_id = %s",
        (sr,),
    ).fetchall()
    assert len(rows) == 1
    code, category, remedy, has_fault = rows[0]
    assert code == "QBO_FAULT_2500" and category == "mapping" and has_fault
    assert "mapping" in remedy
    assert books.outbox(sr)["state"] == "failed"


def test_document_armed_before_its_month_closed_is_held_not_sent(books: Books) -> None:
    books.db.execute("UPDATE sync.settings SET debounce = '1 hour'")
    cust = books.customer("Closer")
    open_sr = books.doc(
        "sales_receipt",
        {
            "CustomerRef": {"document_id": cust},
            "Line": [sale_line("4.00")],
            "TxnDate": "2026-01-01",
        },
        total="4.00",
        depends_on=[cust],
    )
    books.db.execute(
        "UPDATE books.documents SET txn_date = '2026-02-10' WHERE document_id = %s", (open_sr,)
    )
    late = books.sales_receipt(cust, "6.00")
    books.db.execute(
        "UPDATE books.documents SET txn_date = '2026-01-20' WHERE document_id = %s", (late,)
    )
    books.db.execute(
        "INSERT INTO books.periods (tenant_id, period_start, period_end, status, closed_at) "
        "VALUES (%s, '2026-01-01', '2026-01-31', 'closed', now())",
        (books.tenant_id,),
    )
    books.db.execute("UPDATE sync.outbox SET due_at = now()")
    books.drain()
    assert books.outbox(late)["state"] == "held"
    assert [(e[0], e[2]) for e in books.exceptions()] == [("PERIOD_CLOSED", late)]
    found = books.entities("SalesReceipt")
    assert len(found) == 1 and found[0]["TxnDate"] == "2026-02-10"  # txn_date is authoritative


def test_operator_retry_after_a_refusal_uses_a_new_request_id(books: Books) -> None:
    cust = books.customer("Retry")
    sr = books.doc(
        "sales_receipt",
        {"CustomerRef": {"document_id": cust}, "Line": [sale_line("9.00", item="999")]},
        total="9.00",
        depends_on=[cust],
    )
    books.drain()
    refused = books.db.execute(
        "SELECT request_id FROM sync.attempts WHERE document_id = %s AND event = 'data_fault'",
        (sr,),
    ).fetchone()
    books.db.execute("SELECT api.outbox__retry(%s, %s, 'ops@acme')", (books.tenant_id, sr))
    books.db.execute("UPDATE sync.rate_buckets SET tokens = 5")
    claimed = books.db.execute("SELECT request_id FROM api.outbox__claim('w', 5)").fetchone()
    assert refused is not None and claimed is not None
    assert claimed[0] != refused[0]  # QuickBooks would replay the cached refusal otherwise
    assert books.exceptions() == []  # resolved as retried
