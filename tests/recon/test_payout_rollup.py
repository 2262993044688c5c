"""The payout views read books.payout_rollup for unchanged payouts and recompute changed ones live;
through every kind of change to balance transactions their answer equals the slow path
(analytics.fct_balance_sources_live, and the views computed with every payout recomputed live)."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.recon.test_examples import seed

FAST = (
    "SELECT tenant_id, channel_id, payout_id, currency, bt_count, charges_gross, processor_fees,"
    " refunds, chargebacks, adjustments, computed_net, stated_net"
    " FROM analytics.fct_balance_sources ORDER BY 1, 2, 3, 4"
)
SLOW = (
    "SELECT tenant_id, channel_id, payout_id, currency, bt_count, charges_gross, processor_fees,"
    " refunds, chargebacks, adjustments, computed_net, stated_net"
    " FROM analytics.fct_balance_sources_live ORDER BY 1, 2, 3, 4"
)
PAID = "SELECT DISTINCT computed FROM analytics.fct_balance_sources WHERE payout_id IS NOT NULL"
VIEWS = {
    "clearing": "SELECT * FROM analytics.rpt_clearing_balance ORDER BY 1, 2, 3",
    "payouts": "SELECT * FROM analytics.rpt_payout_reconciliation ORDER BY 1, 2, 4",
    "sources": "SELECT * FROM analytics.fct_payout_sources ORDER BY 1, 2, 3, 4",
    "variance": "SELECT * FROM analytics.rpt_payout_variance ORDER BY 1, 2, 4, 6, 7",
    "check": "SELECT * FROM analytics.rpt_payout_variance_check ORDER BY 1, 2, 3",
    "unmatched": "SELECT * FROM analytics.rpt_bank_unmatched ORDER BY 1, 2, 3",
}


def _text(rows: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
    # compared as text: 12.5 and 12.50 are equal numbers but print differently
    return [tuple("" if v is None else str(v) for v in r) for r in rows]


def _views(db: psycopg.Connection) -> dict[str, list[tuple[str, ...]]]:
    return {k: _text(db.execute(q).fetchall()) for k, q in VIEWS.items()}


def _check(db: psycopg.Connection) -> dict[str, list[tuple[str, ...]]]:
    fast = _text(db.execute(FAST).fetchall())
    assert fast == _text(db.execute(SLOW).fetchall())
    views = _views(db)
    # the same views with every payout marked, i.e. every balance transaction summed live
    with db.transaction(force_rollback=True):
        db.execute(
            "INSERT INTO books.payout_dirty (tenant_id, channel_id, payout_id)"
            " SELECT tenant_id, channel_id, payout_id FROM orders.balance_transactions"
            " WHERE payout_id IS NOT NULL"
            " UNION SELECT tenant_id, channel_id, payout_id FROM books.payout_rollup"
        )
        assert db.execute(PAID).fetchall() in ([("live",)], [])
        assert _views(db) == views
    return views


def _computed(db: psycopg.Connection) -> set[str]:
    return {r[0] for r in db.execute(PAID).fetchall()}


def _refresh(db: psycopg.Connection, *, all_payouts: bool = False) -> int:
    row = db.execute("SELECT api.payout_rollup__refresh('demo', %s)", (all_payouts,)).fetchone()
    assert row is not None
    assert db.execute("SELECT count(*) FROM books.payout_dirty").fetchone() == (0,)
    assert _computed(db) == {"rollup"}
    return int(row[0])


def _bt(
    db: psycopg.Connection, bt: str, payout: str | None, kind: str, amount: str, fee: str
) -> None:
    db.execute(
        "INSERT INTO orders.balance_transactions (tenant_id, channel_id, balance_transaction_id,"
        " payout_id, type, source_id, amount, fee, net, currency) VALUES ('demo', 'shop', %s, %s,"
        " %s, %s, %s::numeric, %s::numeric, %s::numeric - %s::numeric, 'USD')",
        (bt, payout, kind, "src_" + bt, amount, fee, amount, fee),
    )


def test_payout_views_equal_the_slow_path_through_changes(db: psycopg.Connection) -> None:
    seed(db)
    assert _computed(db) == {"live"}  # written by triggers: every payout marked
    seeded = _check(db)
    assert _refresh(db) >= 6
    assert _check(db) == seeded

    # inserts: a charge into a payout already rolled up, a movement not paid out yet, a
    # refund carried by a payout (r_2 is no longer pending)
    _bt(db, "bt_new1", "1002", "charge", "10.25", "0.30")
    _bt(db, "bt_new2", None, "charge", "7.00", "0.21")
    db.execute(
        "INSERT INTO orders.balance_transactions (tenant_id, channel_id, balance_transaction_id,"
        " payout_id, type, source_id, amount, fee, net, currency) VALUES"
        " ('demo', 'shop', 'bt_r2', '1004', 'refund', 'r_2', -9.99, 0, -9.99, 'USD')"
    )
    assert _computed(db) == {"rollup", "live"}
    unpaid = db.execute(
        "SELECT computed, bt_count FROM analytics.fct_balance_sources WHERE payout_id IS NULL"
    ).fetchall()
    assert unpaid == [("live", 1)]  # movements not paid out yet: always summed live
    changed = _check(db)
    assert changed != seeded
    assert not any(r[5] == "refund_pending" for r in changed["variance"])
    assert _refresh(db) == 2  # 1002 and 1004
    assert _check(db) == changed

    # updates: an amount, a movement paid out (leaves NULL, joins 1001), a type change
    db.execute(
        "UPDATE orders.balance_transactions SET amount = 62.50, net = 60.50"
        " WHERE balance_transaction_id = 'bt_3'"
    )
    db.execute(
        "UPDATE orders.balance_transactions SET payout_id = '1001'"
        " WHERE balance_transaction_id = 'bt_new2'"
    )
    db.execute(
        "UPDATE orders.balance_transactions SET type = 'adjustment'"
        " WHERE balance_transaction_id = 'bt_6'"
    )
    updated = _check(db)
    assert updated != changed
    _refresh(db)
    assert _check(db) == updated

    # deletes: one movement, then every movement of a payout (its rollup row must go)
    db.execute("DELETE FROM orders.balance_transactions WHERE balance_transaction_id = 'bt_new1'")
    _check(db)
    db.execute("DELETE FROM orders.balance_transactions WHERE payout_id = '1004'")
    gone = _check(db)
    assert not any(r[2] == "1004" for r in gone["sources"])
    _refresh(db)
    assert _check(db) == gone
    assert db.execute(
        "SELECT count(*) FROM books.payout_rollup WHERE payout_id = '1004'"
    ).fetchone() == (0,)

    # a bulk load with triggers off is invisible to the marks until a full refresh
    db.execute("SET session_replication_role = replica")
    _bt(db, "bulk1", "1003", "fee", "-1.00", "0")
    db.execute("RESET session_replication_role")
    assert db.execute(FAST).fetchall() != db.execute(SLOW).fetchall()
    assert _refresh(db, all_payouts=True) >= 5
    _check(db)


def test_refresh_keeps_a_payout_live_when_its_change_commits_meanwhile(
    db: psycopg.Connection, db_url: str
) -> None:
    seed(db)
    _refresh(db)
    with psycopg.connect(db_url) as writer:  # a transaction still open during the refresh
        writer.execute(
            "UPDATE orders.balance_transactions SET fee = 3.00, net = 100.20"
            " WHERE balance_transaction_id = 'txn_1'"
        )
        _refresh(db)
    assert _computed(db) == {"rollup", "live"}
    _check(db)
    _refresh(db)
    _check(db)


def test_refresh_due_folds_payout_marks_of_every_tenant(db: psycopg.Connection) -> None:
    seed(db)
    marked = db.execute(
        "SELECT count(*) FROM (SELECT DISTINCT tenant_id, channel_id, payout_id"
        " FROM books.payout_dirty) AS k"
    ).fetchone()
    days = db.execute("SELECT count(DISTINCT day) FROM books.recon_dirty").fetchone()
    assert marked is not None and days is not None and marked[0] > 0
    assert db.execute("SELECT api.recon_rollup__refresh_due()").fetchone() == (marked[0] + days[0],)
    assert _computed(db) == {"rollup"}
    _check(db)


def test_a_large_first_match_refreshes_the_statistics_the_views_plan_with(
    db: psycopg.Connection,
) -> None:
    # 150 payouts and their deposits, loaded in bulk (triggers off, as bench_recon does)
    db.execute("SET session_replication_role = replica")
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('big', 'Big')")
    db.execute(
        "INSERT INTO orders.channels (tenant_id, channel_id, platform, name, currency)"
        " VALUES ('big', 'shop', 'shopify', 'Shop', 'USD')"
    )
    db.execute(
        "INSERT INTO orders.payouts (tenant_id, channel_id, payout_id, status, amount, currency,"
        " payout_date, arrival_date) SELECT 'big', 'shop', 'p' || g, 'paid', 100 + g, 'USD',"
        " date '2024-01-01' + g, date '2024-01-02' + g FROM generate_series(1, 150) AS g"
    )
    db.execute(
        "INSERT INTO orders.balance_transactions (tenant_id, channel_id, balance_transaction_id,"
        " payout_id, type, amount, fee, net, currency) SELECT 'big', 'shop', 'bt' || g, 'p' || g,"
        " 'charge', 100 + g, 0, 100 + g, 'USD' FROM generate_series(1, 150) AS g"
    )
    db.execute(
        "INSERT INTO ingest.bank_statements (tenant_id, file_sha256, statement_index, format,"
        " account_id, currency, line_count, new_line_count)"
        " VALUES ('big', repeat('0', 64), 0, 'csv', 'chk', 'USD', 0, 0)"
    )
    db.execute(
        "INSERT INTO ingest.bank_lines (tenant_id, statement_id, account_id, dedup_key,"
        " fingerprint, booking_date, amount, currency, description)"
        " SELECT 'big', s.statement_id, 'chk', 'l' || p.payout_id,"
        " md5(p.payout_id) || md5(p.payout_id), p.arrival_date, p.amount, 'USD', 'SHOPIFY PAYOUT'"
        " FROM orders.payouts AS p, ingest.bank_statements AS s WHERE p.tenant_id = 'big'"
    )
    db.execute("RESET session_replication_role")
    db.execute("ANALYZE ingest.bank_matches")  # statistics of the empty table: no matches

    def planned() -> float:
        row = db.execute(
            "SELECT reltuples FROM pg_catalog.pg_class WHERE oid = 'ingest.bank_matches'::regclass"
        ).fetchone()
        assert row is not None
        return float(row[0])

    assert planned() <= 0
    res = db.execute("SELECT api.bank__match('big', 5)").fetchone()
    assert res is not None and res[0]["matched_amount_date"] == 150
    assert planned() == 150
    # a small run later leaves the statistics to autovacuum
    db.execute("DELETE FROM ingest.bank_matches WHERE payout_id IN ('p1', 'p2')")
    db.execute("SELECT api.bank__match('big', 5)")
    assert planned() == 150
