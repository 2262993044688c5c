"""Apps INSERT rows directly: validation errors name the field, totals are checked at commit."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from tests.orders.conftest import events, open_flags, raises_sqlstate


def _order(
    db: psycopg.Connection,
    order_id: str,
    *,
    total: str,
    lines: list[tuple[str, str]],
    channel: str = "app",
    shipping: str | None = None,
    tax: str | None = None,
    discount: str | None = None,
) -> None:
    """One transaction: header, then lines, shipping, tax and an order-level discount."""
    with db.transaction():
        db.execute(
            "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
            " SELECT 't1', %s, %s, c.currency, %s FROM orders.channels AS c"
            " WHERE c.tenant_id = 't1' AND c.channel_id = %s",
            (channel, order_id, total, channel),
        )
        for i, (qty, price) in enumerate(lines):
            db.execute(
                "INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, title,"
                " quantity, unit_price) VALUES ('t1', %s, %s, %s, 'thing', %s, %s)",
                (channel, order_id, str(i), qty, price),
            )
        if shipping is not None:
            db.execute(
                "INSERT INTO orders.shipping_lines (tenant_id, channel_id, order_id,"
                " shipping_line_id, price) VALUES ('t1', %s, %s, 's', %s)",
                (channel, order_id, shipping),
            )
        if tax is not None:
            db.execute(
                "INSERT INTO orders.tax_lines (tenant_id, channel_id, order_id, tax_line_id,"
                " title, amount) VALUES ('t1', %s, %s, 't', 'VAT', %s)",
                (channel, order_id, tax),
            )
        if discount is not None:
            db.execute(
                "INSERT INTO orders.discount_allocations (tenant_id, channel_id, order_id,"
                " allocation_id, amount) VALUES ('t1', %s, %s, 'd', %s)",
                (channel, order_id, discount),
            )


def _count(db: psycopg.Connection, table: str, order_id: str) -> int:
    row = db.execute(
        sql.SQL("SELECT count(*) FROM orders.{} WHERE order_id = %s").format(sql.Identifier(table)),
        (order_id,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_consistent_order_is_stored_with_created_event_and_no_flag(odb: psycopg.Connection) -> None:
    _order(
        odb, "A1", total="27.50", lines=[("2", "10.00")], shipping="5.00", tax="3.50", discount="1"
    )
    assert open_flags(odb, "A1") == []
    assert events(odb, "A1") == ["OrderCreated"]
    payload = odb.execute("SELECT payload FROM orders.events WHERE subject_id = 'A1'").fetchone()
    assert payload is not None
    assert Decimal(str(payload[0]["computed"]["total"])) == Decimal("27.50")


def test_order_whose_totals_do_not_add_up_is_stored_and_flagged_with_the_difference(
    odb: psycopg.Connection,
) -> None:
    _order(odb, "A2", total="30.00", lines=[("2", "10.00")], shipping="5.00")
    assert _count(odb, "orders", "A2") == 1
    flags = open_flags(odb, "A2")
    assert [f[0] for f in flags] == ["TOTALS_MISMATCH"]
    total = flags[0][1]["fields"]["total"]
    assert (Decimal(str(total["stated"])), Decimal(str(total["computed"]))) == (
        Decimal("30.00"),
        Decimal("25.00"),
    )
    assert Decimal(str(total["difference"])) == Decimal("5.00")
    # no plug line was invented
    assert _count(odb, "order_lines", "A2") == 1
    assert events(odb, "A2") == ["OrderCreated", "OrderFlagged"]


def test_correcting_a_line_later_resolves_the_flag(odb: psycopg.Connection) -> None:
    _order(odb, "A3", total="30.00", lines=[("2", "10.00")])
    assert [f[0] for f in open_flags(odb, "A3")] == ["TOTALS_MISMATCH"]
    odb.execute("UPDATE orders.order_lines SET quantity = 3 WHERE order_id = 'A3'")
    assert open_flags(odb, "A3") == []
    assert events(odb, "A3") == [
        "OrderCreated",
        "OrderFlagged",
        "OrderUpdated",
        "OrderFlagResolved",
    ]


def test_unknown_currency_is_refused_naming_the_rule(odb: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="orders_currency_iso4217"):
        odb.execute(
            "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
            " VALUES ('t1', 'app', 'X', 'XYZ', 1)"
        )


def test_amount_finer_than_the_currency_is_refused_with_pb102(odb: psycopg.Connection) -> None:
    message = "orders.stated_total = 100.5 has more decimals than JPY allows (0)"
    with raises_sqlstate("PB102", message):
        odb.execute(
            "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
            " VALUES ('t1', 'jp', 'J1', 'JPY', 100.5)"
        )
    with raises_sqlstate("PB102", "stated_total = 10.005"):
        odb.execute(
            "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
            " VALUES ('t1', 'app', 'U1', 'USD', 10.005)"
        )


def test_negative_quantity_is_refused_naming_the_constraint(odb: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="order_lines_quantity_non_negative"):
        _order(odb, "N1", total="10.00", lines=[("-1", "10.00")])
    assert _count(odb, "orders", "N1") == 0


def test_stale_update_is_refused_with_pb105(odb: psycopg.Connection) -> None:
    odb.execute(
        "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total,"
        " platform_updated_at) VALUES ('t1', 'app', 'S1', 'USD', 0, '2024-01-02T00:00:00Z')"
    )
    with raises_sqlstate("PB105", "platform_updated_at"):
        odb.execute(
            "UPDATE orders.orders SET platform_updated_at = '2024-01-01T00:00:00Z'"
            " WHERE order_id = 'S1'"
        )


def test_cancellation_and_payment_events(odb: psycopg.Connection) -> None:
    _order(odb, "C1", total="10.00", lines=[("1", "10.00")])
    odb.execute(
        "INSERT INTO orders.transactions (tenant_id, channel_id, transaction_id, order_id, kind,"
        " status, amount, currency) VALUES ('t1', 'app', 'T1', 'C1', 'sale', 'success', 10, 'USD')"
    )
    odb.execute("UPDATE orders.orders SET cancelled_at = now() WHERE order_id = 'C1'")
    odb.execute(
        "INSERT INTO orders.refunds (tenant_id, channel_id, refund_id, order_id, amount, currency)"
        " VALUES ('t1', 'app', 'R1', 'C1', 10, 'USD')"
    )
    odb.execute(
        "INSERT INTO orders.payouts (tenant_id, channel_id, payout_id, status, amount, currency)"
        " VALUES ('t1', 'app', 'P1', 'in_transit', 0, 'USD')"
    )
    odb.execute("UPDATE orders.payouts SET status = 'paid' WHERE payout_id = 'P1'")
    odb.execute("UPDATE orders.payouts SET status = 'paid' WHERE payout_id = 'P1'")
    assert events(odb) == [
        "OrderCreated",
        "PaymentCaptured",
        "OrderCancelled",
        "RefundIssued",
        "PayoutCreated",
        "PayoutPaid",
    ]
    versions = odb.execute("SELECT DISTINCT schema_version FROM orders.events").fetchall()
    assert versions == [(1,)]
