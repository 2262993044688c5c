"""Closed periods (invariant 5): nothing posts into a closed period; a late change to a document
booked there becomes a reversing (+ restated) document in the open period, linked to the
original, which is never rewritten; a new fact dated in a closed month is moved or held per
policy, and the app's write is never refused because of it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from .helpers import documents, exceptions, load_shopify_order, post_all, shopify_order
from .test_refunds_payouts import _real_payout

SRC = "shop1:1073459972"  # paid 199.00 on 2025-07-02


def _by_role(db: psycopg.Connection, tenant: str) -> dict[str, dict[str, Any]]:
    return {
        d["source_role"]: d
        for d in documents(db, tenant)
        if (d["source_type"], d["source_id"]) == ("order", SRC)
    }


def _load(db: psycopg.Connection, tenant: str) -> None:
    load_shopify_order(
        db,
        tenant,
        shopify_order(1073459972),
        transactions=[{"transaction_id": "t1", "kind": "sale", "amount": "199.00"}],
    )


def _close_july(db: psycopg.Connection, late_policy: str) -> None:
    """July 2025 closed through the DBA's close.close_period, with a four-eyes override."""
    db.execute("SELECT set_config('pgbooks.user', 'alice', false)")
    row = db.execute(
        "SELECT close.override__request('shop', 'close_period', '2025-07', 'year-end')"
    ).fetchone()
    assert row is not None
    db.execute("SELECT set_config('pgbooks.user', 'bob', false)")
    db.execute("SELECT close.override__approve('shop', %s, 'checked')", (row[0],))
    db.execute("SELECT set_config('pgbooks.user', 'alice', false)")
    db.execute("SELECT close.close_period('shop', '2025-07', %s, %s)", (row[0], late_policy))


def test_late_change_is_reversed_and_restated_in_the_open_period(
    db: psycopg.Connection, tenant: str, sandbox: Any
) -> None:
    _load(db, tenant)
    original = _by_role(db, tenant)["main"]
    assert str(original["body"]["TxnDate"]) == "2025-07-02"
    db.execute("UPDATE books.tenant_settings SET closed_through = '2025-07-31'")
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459972')")  # nothing changed
    assert set(_by_role(db, tenant)) == {"main"}
    # A late discount of 10.00: the order now totals 189.00.
    with db.transaction():
        db.execute(
            "UPDATE orders.orders SET stated_total = 189.00, stated_total_discounts = 10.00"
            " WHERE order_id = '1073459972'"
        )
        db.execute(
            "INSERT INTO orders.discount_allocations (tenant_id, channel_id, order_id,"
            " allocation_id, amount) VALUES ('shop', 'shop1', '1073459972', 'late', 10.00)"
        )
    docs = _by_role(db, tenant)
    assert set(docs) == {"main", "main:reversal", "main:restated"}
    assert docs["main"] == original  # never rewritten (same version, body, date)
    rev, new = docs["main:reversal"], docs["main:restated"]
    assert (rev["doc_type"], rev["status"], rev["total_amount"]) == (
        "refund_receipt",
        "ready",
        Decimal("199.00"),
    )
    assert (new["doc_type"], new["status"], new["total_amount"]) == (
        "sales_receipt",
        "ready",
        Decimal("189.00"),
    )
    for d in (rev, new):
        assert str(d["body"]["TxnDate"]) == "2025-08-01"  # first open day
        assert str(original["document_id"]) in d["body"]["PrivateNote"]  # linked to the original
    assert rev["body"]["Line"] == original["body"]["Line"]
    assert original["document_id"] in rev["depends_on"]
    # Deriving again changes nothing.
    db.execute("SELECT api.order__derive('shop', 'shop1', '1073459972')")
    assert {k: v["version"] for k, v in _by_role(db, tenant).items()} == {
        "main": 1,
        "main:reversal": 1,
        "main:restated": 1,
    }
    answers = post_all(db, tenant, sandbox, sandbox.admin.create_realm())
    for d in (original, rev, new):
        assert Decimal(str(answers[d["document_id"]]["TotalAmt"])) == d["total_amount"]


def test_cancellation_after_close_is_a_reversing_document_not_a_void(
    db: psycopg.Connection, tenant: str
) -> None:
    _load(db, tenant)
    db.execute("UPDATE books.tenant_settings SET closed_through = '2025-07-31'")
    db.execute(
        "UPDATE orders.orders SET cancelled_at = '2025-08-05', financial_status = 'voided'"
        " WHERE order_id = '1073459972'"
    )
    docs = _by_role(db, tenant)
    assert set(docs) == {"main", "main:reversal"}
    assert (docs["main"]["action"], docs["main"]["version"]) == ("upsert", 1)
    assert docs["main:reversal"]["doc_type"] == "refund_receipt"
    assert str(docs["main:reversal"]["body"]["TxnDate"]) == "2025-08-01"


def test_month_closed_with_refuse_policy_holds_new_documents_and_keeps_the_order(
    db: psycopg.Connection, tenant: str
) -> None:
    _close_july(db, "refuse")
    _load(db, tenant)  # the app's commit succeeds: the order is stored
    assert db.execute("SELECT count(*) FROM orders.orders").fetchone() == (1,)
    main = _by_role(db, tenant)["main"]
    assert main["status"] == "blocked"
    exc = exceptions(db, tenant)["PERIOD_CLOSED"]
    assert exc["detail"]["first_open_date"] == "2025-08-01"
    stored = db.execute(
        "SELECT txn_date FROM books.documents WHERE document_id = %s", (main["document_id"],)
    ).fetchone()
    assert stored == (None,)  # nothing dated inside the closed month


def test_month_closed_with_reroute_policy_moves_new_documents(
    db: psycopg.Connection, tenant: str
) -> None:
    _close_july(db, "reroute")
    _load(db, tenant)
    main = _by_role(db, tenant)["main"]
    assert main["status"] == "ready" and str(main["body"]["TxnDate"]) == "2025-08-01"
    assert exceptions(db, tenant) == {}


def test_changed_deposit_in_a_closed_period_is_an_exception_for_the_operator(
    db: psycopg.Connection, tenant: str
) -> None:
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('shop', 'shop1', 'shopify', 'Apple store', 'USD')"
    )
    pid = _real_payout(db)
    src = f"shop1:{pid}"
    deposit = next(d for d in documents(db, tenant) if d["source_id"] == src)
    db.execute(
        "UPDATE books.tenant_settings SET closed_through = %s",
        (deposit["body"]["TxnDate"],),
    )
    db.execute("UPDATE orders.payouts SET amount = 42.00 WHERE payout_id = %s", (pid,))
    after = [d for d in documents(db, tenant) if d["source_id"] == src]
    assert after == [deposit]  # untouched, nothing reversed or restated automatically
    exc = exceptions(db, tenant)["CLOSED_PERIOD_CHANGE"]
    assert exc["category"] == "conflict" and str(deposit["document_id"]) in exc["message"]
    db.execute("SELECT api.payout__derive('shop', 'shop1', %s)", (pid,))
    assert "CLOSED_PERIOD_CHANGE" in exceptions(db, tenant)  # not auto-resolved by a re-derive
