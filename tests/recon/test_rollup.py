"""The fast per-tenant summary (rollup + live recomputation of changed days) always equals the
slow recomputation from analytics.rpt_order_reconciliation, through every kind of change."""

from __future__ import annotations

import json
from decimal import Decimal

import psycopg
from typer.testing import CliRunner

from pgbooks.cli import app
from tests.derive import derive_pending
from tests.recon.test_examples import seed

FAST = """
SELECT tenant_id, period::text, day::text, currency, recon_state, sum(orders)::bigint,
    sum(order_amount)
FROM analytics.rpt_recon_summary GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
"""
SLOW = """
SELECT tenant_id, period::text, day::text, currency, recon_state, count(*), sum(order_total)
FROM analytics.rpt_order_reconciliation GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
"""


def _order(db: psycopg.Connection, oid: str, total: str, placed: str, price: str) -> None:
    db.execute(
        "WITH o AS (INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency,"
        " stated_total, placed_at) VALUES ('demo', 'shop', %(o)s, 'USD', %(t)s, %(p)s)"
        " RETURNING tenant_id, channel_id, order_id)"
        " INSERT INTO orders.order_lines (tenant_id, channel_id, order_id, line_id, title,"
        " quantity, unit_price) SELECT o.tenant_id, o.channel_id, o.order_id, '1', 'Mug', 1, %(u)s"
        " FROM o",
        {"o": oid, "t": total, "p": placed, "u": price},
    )


def _check(db: psycopg.Connection) -> list[tuple]:
    derive_pending(db)  # the worker derives what the writes queued
    fast = db.execute(FAST).fetchall()
    assert fast == db.execute(SLOW).fetchall()
    return fast


def _refresh(db: psycopg.Connection, *, all_days: bool = False) -> int:
    row = db.execute("SELECT api.recon_rollup__refresh('demo', %s)", (all_days,)).fetchone()
    assert row is not None
    assert db.execute("SELECT count(*) FROM books.recon_dirty").fetchone() == (0,)
    computed = db.execute("SELECT DISTINCT computed FROM analytics.rpt_recon_summary").fetchall()
    assert computed == [("rollup",)]
    return int(row[0])


def test_fast_summary_equals_slow_recomputation_through_changes(db: psycopg.Connection) -> None:
    seed(db)
    _order(db, "o4", "30.00", "2024-04-02 10:00+00", "30.00")
    _order(db, "o5", "8.00", "2024-04-03 23:30-05", "8.00")  # 2024-04-04 in UTC
    live = _check(db)
    assert db.execute("SELECT DISTINCT computed FROM analytics.rpt_recon_summary").fetchall() == [
        ("live",)
    ]
    assert _refresh(db) == 5  # the days of o1, o2, o3, o4, o5
    assert _check(db) == live
    accuracy = db.execute(
        "SELECT period::text, orders, reconciled, accuracy_pct FROM analytics.rpt_recon_accuracy"
        " WHERE tenant_id = 'demo' ORDER BY period"
    ).fetchall()
    assert accuracy == [
        ("2024-03-01", 3, 1, Decimal("50.00")),
        ("2024-04-01", 2, 2, Decimal("100.00")),
    ]

    # an order's stated total changes: its lines no longer add up, the rules block its document
    db.execute("UPDATE orders.orders SET stated_total = 31.00 WHERE order_id = 'o4'")
    after = _check(db)
    assert ("demo", "2024-04-01", "2024-04-02", "USD", "blocked", 1, Decimal("31.00")) in after
    # an order moves to another day and month (both change)
    db.execute("UPDATE orders.orders SET placed_at = '2024-05-01 00:00+00' WHERE order_id = 'o5'")
    _check(db)
    # a document changes status by itself
    db.execute(
        "UPDATE books.documents SET status = 'draft' WHERE tenant_id = 'demo'"
        " AND source_type = 'order' AND source_id = 'shop:o1'"
    )
    _check(db)
    _refresh(db)
    _check(db)
    # the posting mode decides booked_in_payout_summary vs no_document on every day
    db.execute(
        "UPDATE books.tenant_settings SET posting_mode = 'per_payout' WHERE tenant_id = 'demo'"
    )
    _check(db)
    _refresh(db)
    # an order deleted outright (with its lines and document)
    db.execute("DELETE FROM orders.order_lines WHERE order_id = 'o5'")
    db.execute("DELETE FROM orders.orders WHERE order_id = 'o5'")
    _check(db)
    _refresh(db)
    final = _check(db)
    assert "2024-05-01" not in {r[1] for r in final}

    # a bulk load with triggers off is invisible to the marks until a full refresh
    db.execute("SET session_replication_role = replica")
    db.execute(
        "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total,"
        " placed_at) VALUES ('demo', 'shop', 'bulk1', 'USD', 5.00, '2023-12-24 10:00+00')"
    )
    db.execute("RESET session_replication_role")
    assert db.execute(FAST).fetchall() != db.execute(SLOW).fetchall()
    assert _refresh(db, all_days=True) >= 3
    _check(db)


def test_refresh_keeps_a_day_live_when_its_change_commits_meanwhile(
    db: psycopg.Connection, db_url: str
) -> None:
    seed(db)
    _refresh(db)
    with psycopg.connect(db_url) as writer:  # a transaction still open during the refresh
        writer.execute("UPDATE orders.orders SET stated_total = 99.00 WHERE order_id = 'o1'")
        _refresh(db)
        writer.commit()
    got = _check(db)
    assert ("demo", "2024-03-01", "2024-03-01", "USD", "blocked", 1, Decimal("99.00")) in got
    assert db.execute(
        "SELECT day::text, computed FROM analytics.rpt_recon_summary WHERE computed = 'live'"
    ).fetchall() == [("2024-03-01", "live")]


def test_refresh_refuses_an_unknown_tenant(db: psycopg.Connection) -> None:
    try:
        db.execute("SELECT api.recon_rollup__refresh('nobody')")
    except psycopg.Error as exc:
        assert exc.sqlstate == "PB801" and "nobody" in str(exc)
    else:
        raise AssertionError("refresh of an unknown tenant must fail")


def test_cli_refresh(db: psycopg.Connection, db_url: str) -> None:
    seed(db)
    env = {"DATABASE_URL": db_url, "PGBOOKS_TENANT": "demo"}
    res = CliRunner().invoke(app, ["recon", "refresh", "--json"], env=env)
    assert res.exit_code == 0, res.output
    # every payout the seed's balance transactions touched
    payouts = db.execute(
        "SELECT count(*) FROM (SELECT DISTINCT channel_id, payout_id"
        " FROM orders.balance_transactions WHERE tenant_id = 'demo' AND payout_id IS NOT NULL) AS k"
    ).fetchone()
    assert payouts is not None and payouts[0] >= 2
    assert json.loads(res.stdout) == {"days": 3, "payouts": payouts[0]}
    assert db.execute("SELECT count(*) FROM books.recon_dirty").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM books.payout_dirty").fetchone() == (0,)
    again = CliRunner().invoke(app, ["recon", "refresh", "--all"], env=env)
    assert again.exit_code == 0 and "3 day(s) recomputed" in again.stdout
