"""When derivation runs: once per order per transaction, at commit, however many rows changed.

The deferred trigger queues one event per changed row; it derives for the current version of
an order header, skips the parts of an order whose header the transaction wrote, and
de-duplicates the rest. Counted with the transaction's own function statistics
(pg_stat_xact_user_functions) after forcing the deferred triggers with SET CONSTRAINTS.
"""

from __future__ import annotations

import psycopg

ORDER = (
    "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total)"
    " SELECT 'd1', 'app', 'o' || g, 'USD', 15.00 FROM generate_series(1, %s) AS g"
)
LINES = (
    "INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, title, quantity,"
    " unit_price) SELECT 'd1', 'app', 'o' || g, l::text, 'Widget', 1, 5.00"
    " FROM generate_series(1, %s) AS g, generate_series(1, 3) AS l"
)


def _calls(db: psycopg.Connection) -> int:
    # PostgreSQL 15 flushes function statistics lazily: the "xact" view may still hold calls of
    # an earlier transaction, so callers take a difference within one transaction.
    row = db.execute(
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions"
        " WHERE schemaname = 'logic' AND funcname = 'order__derive'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def _derive_calls(db: psycopg.Connection, before: int) -> int:
    db.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the deferred triggers now
    return _calls(db) - before


def _setup(db: psycopg.Connection) -> None:
    db.execute("SET track_functions = 'all'")
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('d1', 'D1')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('d1', 'app', 'custom', 'app', 'USD')"
    )


def test_orders_written_with_their_parts_derive_once_each(db: psycopg.Connection) -> None:
    _setup(db)
    with db.transaction():
        before = _calls(db)
        db.execute(ORDER, (25,))
        db.execute(LINES, (25,))
        # the header written again in the same transaction: still one derivation
        db.execute("UPDATE orders.orders SET order_number = '#1' WHERE order_id = 'o1'")
        db.execute("UPDATE orders.orders SET order_number = '#1b' WHERE order_id = 'o1'")
        assert _derive_calls(db, before) == 25
    docs = db.execute(
        "SELECT count(*) FROM books.documents WHERE tenant_id = 'd1' AND source_type = 'order'"
        " AND source_role = 'main'"
    ).fetchone()
    assert docs == (25,)
    body = db.execute(
        "SELECT body ->> 'PrivateNote' FROM books.documents WHERE tenant_id = 'd1'"
        " AND source_id = 'app:o1' AND source_role = 'main'"
    ).fetchone()
    assert body is not None and "#1b" in body[0]  # derived from the last version


def test_payments_added_to_older_orders_derive_each_once(db: psycopg.Connection) -> None:
    _setup(db)
    with db.transaction():
        db.execute(ORDER, (2,))
        db.execute(LINES, (2,))
    with db.transaction():
        before = _calls(db)
        # five payment rows on two orders whose headers this transaction does not write
        db.execute(
            "INSERT INTO orders.transactions (tenant_id, channel_id, transaction_id, order_id,"
            " kind, status, amount, currency) SELECT 'd1', 'app', 't' || g, 'o' || (g % 2 + 1),"
            " 'capture', 'success', 3.00, 'USD' FROM generate_series(1, 5) AS g"
        )
        db.execute("UPDATE orders.transactions SET gateway = 'stripe' WHERE tenant_id = 'd1'")
        assert _derive_calls(db, before) == 2
