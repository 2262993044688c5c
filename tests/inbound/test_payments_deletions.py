"""Payments recorded in QuickBooks close the order's balance; voids and deletions made in
QuickBooks are flagged, never re-created (CDC sweep with webhooks off)."""

from __future__ import annotations

from decimal import Decimal

from tests.inbound.conftest import TwoWay


def _balance(two_way: TwoWay, oid: str) -> tuple[Decimal, Decimal, Decimal]:
    row = two_way.db.execute(
        "SELECT total, paid, balance FROM api.order__balance(%s, 'pos', %s)",
        (two_way.tenant, oid),
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def test_payment_in_quickbooks_closes_the_order_balance(two_way: TwoWay, receiver_url: str) -> None:
    oid = two_way.order(qty=2, price="12.50")
    two_way.deliver()
    inv = two_way.document(oid)
    assert _balance(two_way, oid) == (25, 0, 25)
    two_way.webhooks(f"{receiver_url}/webhooks/quickbooks/{two_way.tenant}")

    invoice = two_way.read("Invoice", inv["remote_id"])
    pay = two_way.write(
        "Payment",
        {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": Decimal("25.00"),
            "Line": [
                {
                    "Amount": Decimal("25.00"),
                    "LinkedTxn": [{"TxnId": inv["remote_id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )
    two_way.wait_changes(lambda rs: any(r["entity"] == "Payment" for r in rs))
    stats = two_way.inbound()
    assert stats.outcomes.get("payment_recorded") == 1, stats
    assert _balance(two_way, oid) == (25, 25, 0)

    # The canonical event and the audit entry of the capture.
    ev = two_way.db.execute(
        "SELECT event_type, payload ->> 'gateway' FROM orders.events WHERE tenant_id = %s"
        " AND subject_type = 'transaction' AND subject_id = %s",
        (two_way.tenant, f"qbo-payment:{pay['Id']}"),
    ).fetchall()
    assert ev == [("PaymentCaptured", "quickbooks")]
    audited = two_way.db.execute(
        "SELECT app_user, after ->> 'gateway' FROM audit.events WHERE tenant_id = %s"
        " AND table_name IN ('transactions', 'orders.transactions') AND operation = 'INSERT'",
        (two_way.tenant,),
    ).fetchall()
    assert audited == [("quickbooks", "quickbooks")]

    # The payment document is linked to the QuickBooks payment: never posted a second time.
    paydoc = two_way.document(oid, role=f"payment:qbo-payment:{pay['Id']}")
    assert paydoc["remote_id"] == pay["Id"]
    two_way.deliver()
    assert two_way.books.count("Payment") == 1
    # Seen again (sweep overlap, replayed webhook): recorded once.
    two_way.inbound(sweep=True)
    assert _balance(two_way, oid) == (25, 25, 0)
    assert two_way.exceptions() == []


def test_deletion_in_quickbooks_detected_by_cdc_with_webhooks_off(two_way: TwoWay) -> None:
    two_way.webhooks(None)
    oid = two_way.order(qty=1)
    two_way.deliver()
    inv = two_way.document(oid)
    cur = two_way.read("Invoice", inv["remote_id"])
    two_way.write(
        "Invoice", {"Id": inv["remote_id"], "SyncToken": cur["SyncToken"]}, operation="delete"
    )
    assert two_way.books.count("Invoice") == 0

    stats = two_way.inbound(sweep=True)
    assert stats.outcomes.get("deleted") == 1, stats
    [exc] = two_way.exceptions("REMOTE_DELETED")
    assert exc["document_id"] == inv["document_id"] and exc["category"] == "conflict"
    assert exc["detail"]["detected_by"] == "cdc"
    assert two_way.document(oid)["remote_status"] == "deleted"

    # The order changes afterwards: pgbooks holds the document instead of re-creating it.
    with two_way.db.transaction():
        two_way.db.execute(
            "UPDATE orders.order_lines SET quantity = 2 WHERE tenant_id = %s AND order_id = %s",
            (two_way.tenant, oid),
        )
        two_way.db.execute(
            "UPDATE orders.orders SET stated_subtotal = 25, stated_total = 25"
            " WHERE tenant_id = %s AND order_id = %s",
            (two_way.tenant, oid),
        )
    two_way.books.drain(timeout=30)
    assert two_way.books.count("Invoice") == 0
    assert [e["reason_code"] for e in two_way.exceptions()] == ["REMOTE_DELETED", "REMOTE_REMOVED"]
    # Sweeping again finds the same tombstone: no second exception, no second change.
    two_way.inbound(sweep=True)
    assert len(two_way.exceptions("REMOTE_DELETED")) == 1


def test_void_in_quickbooks_is_flagged(two_way: TwoWay) -> None:
    oid = two_way.order(qty=1)
    two_way.deliver()
    inv = two_way.document(oid)
    cur = two_way.read("Invoice", inv["remote_id"])
    two_way.write(
        "Invoice", {"Id": inv["remote_id"], "SyncToken": cur["SyncToken"]}, operation="void"
    )
    assert two_way.inbound(sweep=True).outcomes.get("voided") == 1
    [exc] = two_way.exceptions("REMOTE_VOIDED")
    assert exc["document_id"] == inv["document_id"]
    assert two_way.document(oid)["remote_status"] == "voided"


def test_own_payment_is_never_recorded_as_a_quickbooks_payment(
    two_way: TwoWay, receiver_url: str
) -> None:
    oid = two_way.order(qty=2, price="12.50")
    two_way.deliver()
    inv = two_way.document(oid)
    two_way.webhooks(f"{receiver_url}/webhooks/quickbooks/{two_way.tenant}")
    # The order is paid on its platform: books derives a Payment, delivery posts it.
    two_way.db.execute(
        "INSERT INTO orders.transactions (tenant_id, channel_id, transaction_id, order_id, kind,"
        " status, amount, currency, gateway) VALUES (%s, 'pos', 't-1', %s, 'capture', 'success',"
        " 25, 'USD', 'stripe')",
        (two_way.tenant, oid),
    )
    two_way.deliver()
    two_way.wait_changes(lambda rs: any(r["entity"] == "Payment" for r in rs))
    two_way.inbound()
    assert _balance(two_way, oid) == (25, 25, 0)
    assert two_way.books.count("Payment") == 1

    # The race: our payment's notification applied before the delivery is closed (no link yet)
    # waits instead of being taken for a bookkeeper's payment.
    customer = two_way.read("Invoice", inv["remote_id"])["CustomerRef"]
    oid2 = two_way.order(qty=1, price="12.50")
    two_way.deliver()
    inv2 = two_way.document(oid2)
    pay = two_way.write(
        "Payment",
        {
            "CustomerRef": customer,
            "TotalAmt": Decimal("12.50"),
            "PrivateNote": f"pgbooks payment pos:t-2 for order pos:{oid2}",
            "Line": [
                {
                    "Amount": Decimal("12.50"),
                    "LinkedTxn": [{"TxnId": inv2["remote_id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )
    two_way.wait_changes(
        lambda rs: any(r["remote_id"] == pay["Id"] and r["entity"] == "Payment" for r in rs)
    )
    assert two_way.inbound().outcomes.get("in_flight") == 1
    waiting = [
        c for c in two_way.changes() if c["remote_id"] == pay["Id"] and c["entity"] == "Payment"
    ]
    assert waiting[0]["status"] == "pending"
    assert _balance(two_way, oid2) == (Decimal("12.50"), 0, Decimal("12.50"))
    # Never linked after 8 looks: an operator decides (no capture recorded on a guess).
    two_way.db.execute(
        "UPDATE sync.inbound_changes SET attempts = 8, processed_at = now() - interval '1 hour'"
        " WHERE tenant_id = %s AND change_id = %s",
        (two_way.tenant, waiting[0]["change_id"]),
    )
    assert two_way.inbound().outcomes.get("review") == 1
    [flag] = two_way.exceptions("PAYMENT_UNLINKED")
    assert flag["source_id"] == pay["Id"]
    assert _balance(two_way, oid2) == (Decimal("12.50"), 0, Decimal("12.50"))
