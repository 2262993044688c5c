"""Three-way compare under per-field conflict policies (sandbox edits, real worker, real DB)."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal

import psycopg
import pytest

from qbo_sandbox.testing import SandboxHandle
from tests.inbound.conftest import TwoWay


def _policy(two_way: TwoWay, entity: str, field: str, policy: str) -> None:
    two_way.db.execute(
        "SELECT api.conflict_policy__set(%s, %s, %s, %s)", (two_way.tenant, entity, field, policy)
    )


def _overrides(two_way: TwoWay, document_id: int) -> dict[str, object]:
    rows = two_way.db.execute(
        "SELECT field, value, origin FROM sync.field_overrides WHERE tenant_id = %s"
        " AND document_id = %s",
        (two_way.tenant, document_id),
    ).fetchall()
    return {f: (v, o) for f, v, o in rows}


def test_money_fields_cannot_leave_review(two_way: TwoWay) -> None:
    for field in ("Line", "TotalAmt", "TxnTaxDetail", "*"):
        with pytest.raises(psycopg.errors.CheckViolation) as exc:
            _policy(two_way, "Invoice", field, "qbo_wins")
        assert exc.value.diag.constraint_name == "conflict_policies_money_fields_review"
    with pytest.raises(psycopg.errors.CheckViolation) as exc2:
        _policy(two_way, "Invoice", "PrivateNote", "sometimes")
    assert exc2.value.diag.constraint_name == "conflict_policies_policy_known"


def test_invoice_edited_in_quickbooks_while_order_changed(two_way: TwoWay) -> None:
    oid = two_way.order(qty=2)
    two_way.deliver()
    inv = two_way.document(oid)
    rid = inv["remote_id"]
    _policy(two_way, "Invoice", "PrivateNote", "qbo_wins")

    # The bookkeeper edits the invoice: a note, the quantity (an amount), a memo we never send.
    line = two_way.read("Invoice", rid)["Line"][0]
    line["SalesItemLineDetail"]["Qty"] = 3
    line["Amount"] = Decimal("37.50")
    two_way.edit(
        "Invoice",
        rid,
        PrivateNote="checked by Bob",
        Line=[line],
        CustomerMemo={"value": "Thank you"},
    )
    # Meanwhile the order changes in pgbooks: 4 pegs (document version 2, not delivered yet).
    with two_way.db.transaction():
        two_way.db.execute(
            "UPDATE orders.order_lines SET quantity = 4 WHERE tenant_id = %s AND order_id = %s",
            (two_way.tenant, oid),
        )
        two_way.db.execute(
            "UPDATE orders.orders SET stated_subtotal = 50, stated_total = 50"
            " WHERE tenant_id = %s AND order_id = %s",
            (two_way.tenant, oid),
        )
    assert two_way.document(oid)["version"] == 2

    # Captured by the CDC sweep (webhooks off in this test), then applied per field.
    stats = two_way.inbound(sweep=True)
    assert stats.outcomes.get("review") == 1, stats
    change = next(c for c in two_way.changes() if c["entity"] == "Invoice")
    assert change["outcome"] == "review"
    assert change["detail"]["accepted"] == {"PrivateNote": "checked by Bob"}
    assert change["detail"]["quickbooks_only"] == ["CustomerMemo"]
    [exc] = two_way.exceptions("CONFLICT_REVIEW")
    diff, total = exc["diff"]
    assert diff["path"] == "Line" and diff["policy"] == "review" and diff["ours_changed"] is True
    assert (total["path"], total["ours"], total["quickbooks"]) == ("TotalAmt", 50, Decimal("37.5"))
    assert diff["quickbooks"][0]["SalesItemLineDetail"]["Qty"] == 3
    assert diff["ours"][0]["SalesItemLineDetail"]["Qty"] == 4
    # qbo_wins: the QuickBooks note is the local record now.
    assert _overrides(two_way, inv["document_id"]) == {
        "PrivateNote": ("checked by Bob", "qbo_wins")
    }

    # Delivery of version 2 must not overwrite the reviewed lines: QuickBooks keeps 3.
    two_way.books.drain(timeout=30)
    assert two_way.read("Invoice", rid)["Line"][0]["SalesItemLineDetail"]["Qty"] == 3

    # The operator keeps ours: sent again, with the accepted note, QuickBooks' memo untouched.
    res = two_way.db.execute(
        "SELECT api.conflict__take_ours(%s, %s, %s, %s)",
        (two_way.tenant, exc["exception_id"], "the order really has 4", "alice"),
    ).fetchone()
    assert res is not None and res[0]["sent_again"] is True
    two_way.deliver()
    now = two_way.read("Invoice", rid)
    assert now["Line"][0]["SalesItemLineDetail"]["Qty"] == 4 and now["TotalAmt"] == 50
    assert now["PrivateNote"] == "checked by Bob"
    assert now["CustomerMemo"] == {"value": "Thank you"}
    assert two_way.exceptions() == []
    closed = two_way.db.execute(
        "SELECT resolved_by, resolution FROM sync.exceptions WHERE tenant_id = %s"
        " AND exception_id = %s",
        (two_way.tenant, exc["exception_id"]),
    ).fetchone()
    assert closed == ("alice", "take_ours: the order really has 4")
    # Our own write coming back changes nothing.
    two_way.inbound(sweep=True)
    assert two_way.exceptions() == []


def test_take_theirs_and_merge(two_way: TwoWay) -> None:
    a, b = two_way.order(qty=1), two_way.order(qty=1)
    two_way.deliver()
    docs = [two_way.document(a), two_way.document(b)]
    for d in docs:
        two_way.edit("Invoice", d["remote_id"], PrivateNote="edited in QuickBooks")
    two_way.inbound(sweep=True)
    e1, e2 = two_way.exceptions("CONFLICT_REVIEW")
    two_way.db.execute(
        "SELECT api.conflict__take_theirs(%s, %s, 'bookkeeper is right')",
        (two_way.tenant, e1["exception_id"]),
    )
    assert _overrides(two_way, docs[0]["document_id"]) == {
        "PrivateNote": ("edited in QuickBooks", "take_theirs")
    }
    with pytest.raises(psycopg.Error) as bad:
        two_way.db.execute(
            "SELECT api.conflict__merge(%s, %s, '{}', 'x')", (two_way.tenant, e2["exception_id"])
        )
    assert bad.value.sqlstate == "PB939" and "PrivateNote" in str(bad.value)
    two_way.db.execute(
        "SELECT api.conflict__merge(%s, %s, %s, 'both notes')",
        (two_way.tenant, e2["exception_id"], '{"PrivateNote": {"value": "merged note"}}'),
    )
    two_way.deliver()
    assert two_way.read("Invoice", docs[1]["remote_id"])["PrivateNote"] == "merged note"
    assert two_way.read("Invoice", docs[0]["remote_id"])["PrivateNote"] == "edited in QuickBooks"
    assert two_way.exceptions() == []


def test_phone_change_under_last_writer_wins_converges(two_way: TwoWay) -> None:
    books = two_way.books
    cust = books.customer("Ada Lovelace")
    books.bump(cust, {"PrimaryPhone": {"FreeFormNumber": "555-0100"}})
    two_way.deliver()
    rid = books.remote_id(cust)
    assert rid is not None
    _policy(two_way, "Customer", "PrimaryPhone", "last_writer_wins")

    # 1. Changed in QuickBooks only: QuickBooks' phone becomes the local record.
    two_way.edit("Customer", rid, PrimaryPhone={"FreeFormNumber": "555-0199"})
    assert two_way.inbound(sweep=True).outcomes == {"accepted": 1}
    assert _overrides(two_way, cust)["PrimaryPhone"][0] == {"FreeFormNumber": "555-0199"}
    rendered = two_way.db.execute(
        "SELECT logic.document__render_qbo(%s, %s)", (two_way.tenant, cust)
    ).fetchone()
    assert rendered is not None and rendered[0]["PrimaryPhone"]["FreeFormNumber"] == "555-0199"

    # 2. Changed on both sides, QuickBooks last: QuickBooks wins again.
    books.bump(cust, {"PrimaryPhone": {"FreeFormNumber": "555-0200"}})
    time.sleep(1.1)  # QuickBooks stamps LastUpdatedTime to the second
    two_way.edit("Customer", rid, PrimaryPhone={"FreeFormNumber": "555-0300"})
    assert two_way.inbound(sweep=True).outcomes == {"accepted": 1}
    two_way.deliver()
    assert two_way.read("Customer", rid)["PrimaryPhone"]["FreeFormNumber"] == "555-0300"

    # 3. Changed on both sides, pgbooks last: ours is sent; both sides end equal.
    two_way.edit("Customer", rid, PrimaryPhone={"FreeFormNumber": "555-0400"})
    time.sleep(1.1)
    two_way.db.execute(
        "DELETE FROM sync.field_overrides WHERE tenant_id = %s AND document_id = %s",
        (two_way.tenant, cust),
    )
    books.bump(cust, {"PrimaryPhone": {"FreeFormNumber": "555-0500"}})
    assert two_way.inbound(sweep=True).outcomes == {"pushed": 1}
    two_way.deliver()
    assert two_way.read("Customer", rid)["PrimaryPhone"]["FreeFormNumber"] == "555-0500"
    two_way.inbound(sweep=True)  # our own write echoes back: nothing to do
    assert two_way.exceptions() == []
    final = two_way.db.execute(
        "SELECT logic.document__render_qbo(%s, %s)", (two_way.tenant, cust)
    ).fetchone()
    assert final is not None and final[0]["PrimaryPhone"]["FreeFormNumber"] == "555-0500"


def test_a_second_change_in_the_same_second_is_not_lost(
    two_way: TwoWay, sandbox: SandboxHandle
) -> None:
    """QuickBooks stamps LastUpdatedTime to the second: two edits of one customer in one second
    share (entity, id, time, operation); the second is told apart by its SyncToken."""
    books = two_way.books
    cust = books.customer("Grace Hopper")
    books.bump(cust, {"PrimaryPhone": {"FreeFormNumber": "555-1000"}})
    two_way.deliver()
    rid = books.remote_id(cust)
    assert rid is not None
    _policy(two_way, "Customer", "PrimaryPhone", "qbo_wins")

    first = two_way.edit("Customer", rid, PrimaryPhone={"FreeFormNumber": "555-1001"})
    stamp = first["MetaData"]["LastUpdatedTime"]
    assert two_way.inbound(sweep=True).outcomes == {"accepted": 1}

    second_stamp = None
    for n in range(2, 6):  # put the sandbox clock back into the first edit's second, then edit
        now = sandbox.admin.http.get("/admin/clock").json()["now"]
        sandbox.admin.advance_clock(datetime.fromisoformat(stamp).timestamp() + 0.05 - now)
        second = two_way.edit("Customer", rid, PrimaryPhone={"FreeFormNumber": f"555-100{n}"})
        second_stamp = second["MetaData"]["LastUpdatedTime"]
        if second_stamp == stamp:
            break
    assert second_stamp == stamp, "could not land the second edit in the first edit's second"
    assert second["SyncToken"] != first["SyncToken"]
    assert two_way.inbound(sweep=True).outcomes == {"accepted": 1}
    assert _overrides(two_way, cust)["PrimaryPhone"][0] == second["PrimaryPhone"]
    assert two_way.inbound(sweep=True).outcomes == {}  # reported again, same SyncToken: nothing
